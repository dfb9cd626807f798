"""Bad input, generated: .env lines, every shipped YAML file mutated, and
drafts with random front matter.  Whatever the operator writes, the
package answers with one located line per problem (``path:line[:col]:
what is wrong``) and exit code 2 — never a traceback — and a broken draft
never takes the good ones down with it.

The bulk runs in-process; a few examples go through the real CLI
(``python -m marketing_ops.cli ... validate``).  Budgets are fixed
(``max_examples``, derandomized) so CI stays fast and repeatable;
``HYPOTHESIS_PROFILE=long`` runs ten times as many, freshly random.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from marketing_ops.config import YAML_FILES, validate_everything
from marketing_ops.config.envfile import parse_env_text
from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import load_draft_folder
from marketing_ops.errors import ConfigError, ConfigErrors
from marketing_ops.resources import example_config_dir

ROOT = Path(__file__).resolve().parents[2]
LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
SCALE = 10 if LONG else 1
# CI runs the same fixed examples every time; the long profile explores.
FAST = dict(deadline=None, derandomize=not LONG,
            suppress_health_check=[HealthCheck.function_scoped_fixture,
                                   HealthCheck.too_slow])

#: ``path:line[:col]: message`` — one line, a location, then words.
LOCATED = re.compile(r"^(?P<path>[^\n:]+):(?P<line>\d+)(?::\d+)?: \S[^\n]*$")
#: What a file-level problem without a line looks like (``path: message``).
FILE_LEVEL = re.compile(r"^(?P<path>[^\n:]+): \S[^\n]*$")

SHIPPED_YAML = sorted(name for name, _ in YAML_FILES.values())
ENV_NAMES = ("PUBLISH_ENABLED", "DRY_RUN", "MAX_LIVE_POSTS_PER_PLATFORM",
             "MAX_LIVE_REPLIES_PER_PLATFORM", "ENABLE_X", "GITHUB_TOKEN",
             "TELEGRAM_CHANNEL_ID", "MARKETING_OPS_STATE_DIR")


def assert_located(message: str, path_part: str) -> None:
    assert "Traceback" not in message
    assert "\n" not in message, message
    match = LOCATED.match(message)
    assert match, f"not located: {message!r}"
    assert path_part in match["path"], message


# -- .env -------------------------------------------------------------------

env_value = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["true", "false", "yes", "0", "1", "-1", "maybe", "",
                     "10 # ten", '"quoted', "'single", "a\\", "\\\n",
                     "$HOME", "`cmd`", "\u00e9t\u00e9", "\x00", "\x7f"]),
    st.builds(lambda q, s: f"{q}{s}{q}", st.sampled_from(['"', "'"]),
              st.text(max_size=10)))
env_name = st.one_of(st.sampled_from(ENV_NAMES),
                     st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}",
                                   fullmatch=True),
                     st.text(max_size=8))
env_line = st.one_of(
    st.builds(lambda n, sep, v: f"{n}{sep}{v}", env_name,
              st.sampled_from(["=", " = ", "=\t", ""]), env_value),
    st.sampled_from(["# comment", "; comment", "# ends in \\", "", "   ",
                     "export A=1", "=value", "A=1 # trailing"]),
    st.text(max_size=30))
env_text = st.builds(lambda lines, crlf: ("\r\n" if crlf else "\n").join(
    lines), st.lists(env_line, max_size=8), st.booleans())


@settings(max_examples=400 * SCALE, **FAST)
@given(text=env_text)
def test_env_text_is_parsed_or_refused_with_its_line(text):
    try:
        values = parse_env_text(text, "cfg/.env")
    except ConfigError as error:
        assert_located(str(error), "cfg/.env")
        assert error.line is not None and error.line <= text.count("\n") + \
            text.count("\r") + 1
    else:
        assert all(isinstance(k, str) and isinstance(v, str)
                   for k, v in values.items())


@settings(max_examples=150 * SCALE, **FAST)
@given(text=env_text)
def test_env_file_never_raises_anything_but_one_config_error(tmp_path_factory,
                                                             text):
    folder = tmp_path_factory.mktemp("env")
    (folder / ".env").write_text(text, encoding="utf-8", newline="")
    try:
        load_settings(folder, folder / "state", environ={})
    except ConfigError as error:
        message = str(error)
        assert "\n" not in message
        assert ".env" in message.split(":")[0] or \
            message.startswith(str(folder)), message


def test_bad_env_value_names_its_line(tmp_path):
    (tmp_path / ".env").write_text("GITHUB_OWNER=me\nPUBLISH_ENABLED=maybe\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, tmp_path / "state", environ={})
    assert_located(str(caught.value), ".env")
    assert caught.value.line == 2


# -- YAML configuration -----------------------------------------------------

def _paths(data, prefix=()):
    """Every key path into ``data`` (mappings and lists)."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, prefix + (index,))


wrong_value = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True), st.text(max_size=15),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["2024-13-45", "25:99", "Europe/Nowhere", "[", "*/0",
                     "platform", "all", "both"]))


@st.composite
def structural_mutation(draw, original: str) -> str:
    """Drop a key, change a value to another type, or add an unknown key,
    somewhere in the document."""
    data = yaml.safe_load(original)
    path = draw(st.sampled_from(list(_paths(data))))
    operation = draw(st.sampled_from(["drop", "retype", "unknown", "root"]))
    if operation == "root" or not path:
        return yaml.safe_dump(draw(wrong_value))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if operation == "drop":
        del parent[last]
    elif operation == "retype":
        parent[last] = draw(wrong_value)
    elif isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=8))] = draw(wrong_value)
    else:
        parent.append(draw(wrong_value))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def textual_mutation(draw, original: str) -> bytes:
    """Tabs, duplicated keys, a cut, a stray byte sequence, a line of noise."""
    lines = original.splitlines(keepends=True)
    index = draw(st.integers(0, max(len(lines) - 1, 0)))
    operation = draw(st.sampled_from(["tab", "duplicate", "truncate",
                                      "bytes", "noise"]))
    if operation == "tab":
        lines[index] = "\t" + lines[index]
    elif operation == "duplicate":
        keyed = [i for i, line in enumerate(lines)
                 if re.match(r"\s*[\w-]+:", line)] or [index]
        chosen = draw(st.sampled_from(keyed))
        lines.insert(chosen + 1, lines[chosen])
    elif operation == "noise":
        lines[index] = draw(st.text(max_size=30)) + "\n"
    text = "".join(lines).encode("utf-8", "surrogatepass")
    if operation == "truncate":
        return text[:draw(st.integers(0, len(text)))]
    if operation == "bytes":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0"
                                     b"\x80", b"\xef\xbb\xbf", b"\r"]))
        return text[:at] + junk + text[at:]
    return text


@st.composite
def broken_config(draw):
    name = draw(st.sampled_from(SHIPPED_YAML))
    original = (example_config_dir() / name).read_text(encoding="utf-8")
    if draw(st.booleans()):
        return name, draw(structural_mutation(original)).encode("utf-8")
    return name, draw(textual_mutation(original))


def config_copy(folder: Path) -> Path:
    config = folder / "config"
    shutil.copytree(example_config_dir(), config, dirs_exist_ok=True)
    (config / ".env").write_text("PUBLISH_ENABLED=false\n")
    return config


def check_errors(errors, name: str) -> None:
    for error in errors:
        message = str(error)
        assert "\n" not in message, message
        if error.path and name in error.path:
            assert_located(message, name)


@settings(max_examples=80 * SCALE, **FAST)
@given(case=broken_config())
def test_mutated_yaml_is_valid_or_located(tmp_path_factory, case):
    name, content = case
    folder = tmp_path_factory.mktemp("cfg")
    config = config_copy(folder)
    (config / name).write_bytes(content)

    errors = validate_everything(config, folder / "state")

    assert all(isinstance(e, ConfigError) for e in errors)
    check_errors(errors, name)


def test_every_shipped_file_is_valid_before_mutation(tmp_path):
    """The mutations start from valid files, so any error is theirs."""
    assert validate_everything(config_copy(tmp_path), tmp_path / "s") == []


@settings(max_examples=6 * SCALE, **FAST)
@given(case=broken_config())
def test_cli_validate_exits_2_with_located_lines(tmp_path_factory, case):
    name, content = case
    folder = tmp_path_factory.mktemp("cli")
    config = config_copy(folder)
    (config / name).write_bytes(content)

    done = subprocess.run(
        [sys.executable, "-m", "marketing_ops.cli", "--config-dir",
         str(config), "--state-dir", str(folder / "state"), "validate"],
        capture_output=True, text=True, timeout=60, cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)})

    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    assert done.returncode in (0, 2), done.stderr
    if done.returncode == 2:
        *problems, summary = done.stderr.strip().splitlines()
        assert re.match(r"^\d+ problem\(s\) found", summary), summary
        assert problems
        for line in problems:
            if name in line.split(":")[0]:
                assert_located(line, name)
            else:
                assert LOCATED.match(line) or FILE_LEVEL.match(line), line


# -- drafts -----------------------------------------------------------------

GOOD_DRAFT = """---
id: good-one
title: A good draft
platforms: [telegram, discord]
---
Still here. https://example.org/good
"""

front_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
              st.sampled_from(["2024-02-30T10:00:00+01:00", "not-a-date",
                               "Bad Id!", "x", "hn"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner,
                                            max_size=3)),
    max_leaves=6)
front_matter = st.dictionaries(
    st.one_of(st.sampled_from(["id", "title", "platforms", "overrides",
                               "not_before", "expires", "tags"]),
              st.text(max_size=8)),
    front_value, max_size=6)


@st.composite
def broken_draft(draw) -> bytes:
    kind = draw(st.sampled_from(["front", "text", "bytes"]))
    if kind == "front":
        front = yaml.safe_dump(draw(front_matter), allow_unicode=True)
        return f"---\n{front}---\n{draw(st.text(max_size=40))}\n".encode(
            "utf-8", "surrogatepass")
    if kind == "text":
        return draw(st.text(max_size=120)).encode("utf-8", "surrogatepass")
    good = GOOD_DRAFT.encode()
    at = draw(st.integers(0, len(good)))
    return good[:at] + draw(st.binary(min_size=1, max_size=4)) + good[at:]


@settings(max_examples=250 * SCALE, **FAST)
@given(content=broken_draft())
def test_a_broken_draft_is_located_and_the_good_one_still_loads(
        tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("drafts")
    (folder / "a-good.md").write_text(GOOD_DRAFT)
    (folder / "b-broken.md").write_bytes(content)

    drafts, errors = load_draft_folder(folder)

    assert "good-one" in [d.id for d in drafts]
    for error in errors:
        assert_located(str(error), "b-broken.md")
    assert (folder / "b-broken.md").read_bytes() == content


def test_broken_drafts_among_good_ones_in_a_real_run(tmp_path):
    """The run publishes the good drafts, reports each broken one with its
    location, and leaves every file where it was."""
    from marketing_ops.agents import run_agent
    from marketing_ops.config import load_config
    from marketing_ops.moltbook import Moltbook, new_run_id, open_ledger
    from marketing_ops.runlock import hold_run
    from marketing_ops.sandbox.server import SandboxServer
    from scripts.harness import make_drafts, sandbox_counts, write_workspace

    broken = {
        "bad-yaml.md": "---\nid: bad-yaml\ntitle: [unclosed\n---\nbody\n",
        "no-id.md": "---\ntitle: Missing id\nplatforms: [x]\n---\nbody\n",
        "bad-platform.md": "---\nid: bad-platform\ntitle: T\n"
                           "platforms: [myspace]\n---\nbody\n",
        "tab.md": "---\nid: tabbed\n\ttitle: T\n---\nbody\n",
        # A control character once made the YAML reader raise before
        # parsing, which ended the whole run: no draft went out.
        "control.md": "---\nid: ctl\x01\ntitle: T\n---\nbody\n",
    }
    with SandboxServer() as sandbox:
        config_dir, state_dir = write_workspace(
            tmp_path, sandbox, drafts={**make_drafts(2), **broken})
        (config_dir / "drafts" / "bad-bytes.md").write_bytes(
            b"---\nid: bad-bytes\ntitle: caf\xe9\n---\n")
        settings_ = load_settings(config_dir, state_dir, environ={})
        run_id = new_run_id()
        with hold_run(state_dir, run_id), open_ledger(
                settings_, agent="distribution", run_id=run_id) as ledger:
            summary = run_agent("distribution", settings_,
                                load_config(settings_), ledger,
                                dry_run=False)
        posted = sandbox_counts(sandbox.posts)

    assert sum(posted.values()) == 10            # 2 good drafts x 5
    assert set(posted.values()) == {1}
    assert len(summary.draft_errors) >= len(broken) + 1
    for message in summary.draft_errors:
        assert_located(message, ".md")
    for name in [*broken, "bad-bytes.md"]:
        assert (config_dir / "drafts" / name).exists()
        assert any(name in m for m in summary.draft_errors), name
    with Moltbook(settings_.ledger_path) as ledger:
        invalid = ledger.query(action="DRAFT_INVALID")
    assert len(invalid) == len(summary.draft_errors)
