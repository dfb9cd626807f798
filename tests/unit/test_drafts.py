"""Drafts: parsing, located errors, the lenient loader, and each draft's
state per platform as read from a real Moltbook ledger."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.drafts import (
    Draft, State, draft_states, load_draft_file, load_drafts,
    load_drafts_lenient)
from marketing_ops.errors import ConfigErrors
from marketing_ops.moltbook import Moltbook

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
---
id: launch
title: We launched
platforms: [github, x]
overrides:
  x:
    text: Short launch text https://example.org
not_before: 2026-03-02T09:00:00+01:00
expires: 2026-03-09T09:00:00Z
tags: [release]
---
The body, in **Markdown**.
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    # Relative paths in messages are computed from the working directory.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "drafts").mkdir(parents=True)
    return tmp_path / "config"


def settings_for(config: Path):
    return load_settings(config, config.parent / "state", environ={})


def write(config: Path, name: str, text: str | bytes) -> Path:
    path = config / "drafts" / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def errors_of(config: Path) -> list[str]:
    drafts, errors = load_drafts_lenient(settings_for(config))
    return [str(e) for e in errors]


# -- good drafts ----------------------------------------------------------

def test_a_good_draft_is_read_with_aware_times_and_overrides(config):
    write(config, "launch.md", GOOD)

    [draft] = load_drafts(settings_for(config))

    assert draft.id == "launch"
    assert draft.title == "We launched"
    assert draft.body == "The body, in **Markdown**."
    assert draft.platforms == ("github", "x")
    assert draft.override("x") == {"text": "Short launch text "
                                           "https://example.org"}
    assert draft.override("reddit") == {}
    assert draft.not_before == datetime(2026, 3, 2, 8, 0,
                                        tzinfo=timezone.utc)
    assert draft.expires == datetime(2026, 3, 9, 9, 0, tzinfo=timezone.utc)
    assert draft.tags == ("release",)
    assert draft.path.name == "launch.md"


def test_publishing_window_is_respected(config):
    write(config, "launch.md", GOOD)
    [draft] = load_drafts(settings_for(config))

    before = datetime(2026, 3, 2, 7, 59, tzinfo=timezone.utc)
    inside = datetime(2026, 3, 5, tzinfo=timezone.utc)
    after = datetime(2026, 3, 9, 9, 0, tzinfo=timezone.utc)
    assert [draft.is_due(t) for t in (before, inside, after)] == \
        [False, True, False]
    assert draft.is_expired(after) and not draft.is_expired(inside)


def test_example_drafts_in_the_repository_are_valid():
    from marketing_ops.drafts import load_draft_folder

    drafts, errors = load_draft_folder(REPO / "config" / "drafts")

    assert errors == []
    assert len(drafts) >= 2


def test_a_missing_drafts_folder_means_no_drafts(tmp_path):
    settings = load_settings(tmp_path / "nowhere", tmp_path / "state",
                             environ={})
    assert load_drafts(settings) == []


def test_files_starting_with_underscore_are_not_drafts(config):
    write(config, "_unfinished.md", "not even front matter")
    write(config, "notes.txt", "ignored too")
    assert load_drafts(settings_for(config)) == []


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(config):
    write(config, "launch.md",
          ("\ufeff" + GOOD).replace("\n", "\r\n").encode("utf-8"))
    [draft] = load_drafts(settings_for(config))
    assert draft.id == "launch"


# -- bad drafts: one located line each ------------------------------------

def front(extra: str = "", platforms: str = "[github, x]",
          body: str = "Body.\n") -> str:
    return (f"---\nid: bad\ntitle: Bad\nplatforms: {platforms}\n{extra}"
            f"---\n{body}")


BAD_DRAFTS = [
    ("unknown platform",
     front(platforms="[github, myspace]"),
     "config/drafts/bad.md:4:21: platforms[1]: 'myspace' is not one of"),
    ("platform in a block list",
     front(platforms="\n  - x\n  - myspace"),
     "config/drafts/bad.md:6:5: platforms[1]: 'myspace' is not one of"),
    ("missing front matter",
     "Just some text\n",
     "config/drafts/bad.md:1:1: missing front matter"),
    ("unterminated front matter",
     "---\nid: bad\ntitle: Bad\nplatforms: [x]\nBody.\n",
     "config/drafts/bad.md:1:1: unterminated front matter"),
    ("empty body",
     front(body="\n   \n"),
     "config/drafts/bad.md:6:1: the body is empty"),
    ("empty front matter",
     "---\n---\nBody\n",
     "config/drafts/bad.md:2:1: the front matter is empty"),
    ("tab in indentation",
     front(extra="overrides:\n\tx:\n    text: hi\n"),
     "config/drafts/bad.md:6:1: tab character in indentation"),
    ("naive time",
     front(extra="not_before: 2026-03-02T09:00:00\n"),
     "config/drafts/bad.md:5:13: not_before: '2026-03-02T09:00:00' has no "
     "UTC offset"),
    ("quoted naive time",
     front(extra="expires: '2026-03-02 09:00'\n"),
     "config/drafts/bad.md:5:10: expires: '2026-03-02 09:00' has no UTC "
     "offset"),
    ("not a time",
     front(extra="expires: next tuesday\n"),
     "config/drafts/bad.md:5:10: expires: 'next tuesday' is not an ISO 8601 "
     "time"),
    ("expires before not_before",
     front(extra="not_before: 2026-03-02T09:00:00Z\n"
                 "expires: 2026-03-01T09:00:00Z\n"),
     "config/drafts/bad.md:6:10: expires: is not after not_before"),
    ("misspelt key",
     front(extra="tagz: [a]\n"),
     "config/drafts/bad.md:5:1: tagz: unknown key; did you mean 'tags'?"),
    ("unknown override key",
     front(extra="overrides:\n  x:\n    txt: hi\n"),
     "config/drafts/bad.md:7:5: overrides.x.txt: unknown key; did you mean "
     "'text'?"),
    ("reddit link without url",
     front(extra="overrides:\n  reddit:\n    kind: link\n"),
     "config/drafts/bad.md:7:5: overrides.reddit: 'url' is required here"),
    ("bad parse mode",
     front(extra="overrides:\n  telegram:\n    parse_mode: Markdown\n"),
     "config/drafts/bad.md:7:17: overrides.telegram.parse_mode: 'Markdown' "
     "is not one of ['HTML', 'MarkdownV2']"),
    ("id with capitals",
     "---\nid: Bad Id\ntitle: t\nplatforms: [x]\n---\nBody\n",
     "config/drafts/bad.md:2:5: id: 'Bad Id' does not match"),
    ("missing title",
     "---\nid: bad\nplatforms: [x]\n---\nBody\n",
     "config/drafts/bad.md:2:1: (top level): 'title' is required here"),
    ("YAML syntax",
     "---\nid: bad\ntitle: [unclosed\nplatforms: [x]\n---\nBody\n",
     "config/drafts/bad.md:4:"),
    ("front matter is a list",
     "---\n- a\n- b\n---\nBody\n",
     "config/drafts/bad.md:2:1: the front matter must be 'key: value'"),
]


@pytest.mark.parametrize("text,expected",
                         [case[1:] for case in BAD_DRAFTS],
                         ids=[case[0] for case in BAD_DRAFTS])
def test_a_bad_draft_gives_one_located_line(config, text, expected):
    write(config, "bad.md", text)

    errors = errors_of(config)

    assert len(errors) == 1, errors
    assert errors[0].startswith(expected), errors[0]
    assert "\n" not in errors[0] and "Traceback" not in errors[0]


def test_bad_utf8_is_located_at_the_byte(config):
    write(config, "bad.md", b"---\nid: bad\ntitle: caf\xe9\n")

    [error] = errors_of(config)

    assert error.startswith("config/drafts/bad.md:3:11: byte 0xe9 is not "
                            "valid UTF-8")


def test_duplicate_ids_name_both_files(config):
    write(config, "a.md", GOOD)
    write(config, "b.md", GOOD)

    drafts, errors = load_drafts_lenient(settings_for(config))

    assert [d.path.name for d in drafts] == ["a.md"]
    [error] = [str(e) for e in errors]
    assert error.startswith("config/drafts/b.md:2:1: id 'launch' is already "
                            "used by config/drafts/a.md:2")


def test_strict_loader_reports_every_problem_of_every_file(config):
    write(config, "good.md", GOOD)
    write(config, "one.md", front(platforms="[myspace]"))
    write(config, "two.md", "no front matter")

    with pytest.raises(ConfigErrors) as raised:
        load_drafts(settings_for(config))

    paths = sorted(e.path for e in raised.value.errors)
    assert paths == ["config/drafts/one.md", "config/drafts/two.md"]


def test_lenient_loader_keeps_the_good_drafts(config):
    write(config, "good.md", GOOD)
    write(config, "one.md", front(platforms="[myspace]"))

    drafts, errors = load_drafts_lenient(settings_for(config))

    assert [d.id for d in drafts] == ["launch"]
    assert len(errors) == 1


def test_loading_never_rewrites_a_draft_file(config):
    path = write(config, "launch.md", GOOD)
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)

    load_drafts(settings_for(config))
    load_draft_file(path)

    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


# -- state from the ledger ------------------------------------------------

def make_draft(draft_id="launch", platforms=("github", "x", "telegram",
                                              "reddit", "discord")):
    return Draft(id=draft_id, title="t", body="b", platforms=platforms)


def events(ledger, draft, platform, *steps):
    for action, status, *rest in steps:
        ledger.record(action=action, status=status, platform=platform,
                      draft=draft, permalink=rest[0] if rest else None,
                      message=f"{action} {status}")


STATE_CASES = [
    ("nothing happened yet", [], "queued"),
    ("published", [("PUBLISH_INTENT", "pending"),
                   ("PLATFORM_RESULT", "success", "https://p/1")],
     "published"),
    ("intent without result", [("PUBLISH_INTENT", "pending")], "unknown"),
    ("unknown result", [("PUBLISH_INTENT", "pending"),
                        ("PLATFORM_RESULT", "unknown")], "unknown"),
    ("failed, safe to retry", [("PUBLISH_INTENT", "pending"),
                               ("PLATFORM_RESULT", "failed")], "failed"),
    ("failed then published", [("PLATFORM_RESULT", "failed"),
                               ("PUBLISH_INTENT", "pending"),
                               ("PLATFORM_RESULT", "success", "https://p/2")],
     "published"),
    ("blocked by policy", [("POLICY_VERDICT", "blocked")], "blocked"),
    ("policy passed then dry run", [("POLICY_VERDICT", "success"),
                                    ("PLATFORM_RESULT", "dry_run")],
     "dry-run"),
    ("out of budget waits in the queue", [("BUDGET_CHECK", "blocked")],
     "queued"),
    ("unknown, then reconciled as found",
     [("PUBLISH_INTENT", "pending"), ("PLATFORM_RESULT", "unknown"),
      ("RECONCILED", "success", "https://p/3")], "published"),
    ("unknown stays unknown through other events",
     [("PLATFORM_RESULT", "unknown"), ("POLICY_VERDICT", "blocked"),
      ("BUDGET_CHECK", "blocked"), ("RECONCILED", "unknown")], "unknown"),
    ("published stays published",
     [("PLATFORM_RESULT", "success", "https://p/4"),
      ("POLICY_VERDICT", "blocked"), ("PLATFORM_RESULT", "failed")],
     "published"),
    ("unrelated actions are ignored",
     [("CIRCUIT_BREAKER_OPENED", "blocked"), ("PREFLIGHT", "failed")],
     "queued"),
]


@pytest.mark.parametrize("steps,expected", [c[1:] for c in STATE_CASES],
                         ids=[c[0] for c in STATE_CASES])
def test_state_comes_from_the_latest_relevant_events(tmp_path, steps,
                                                     expected):
    with Moltbook(tmp_path / "moltbook.db") as ledger:
        events(ledger, "launch", "x", *steps)
        # Noise on other drafts and platforms must not leak in.
        events(ledger, "launch", "github", ("PLATFORM_RESULT", "failed"))
        events(ledger, "other", "x", ("PLATFORM_RESULT", "success", "u"))

        states = draft_states(ledger, [make_draft()])

    assert states[("launch", "x")].name == expected
    assert states[("launch", "github")].name == "failed"
    assert states[("launch", "telegram")] == State("queued")


def test_published_state_carries_the_permalink_and_time(tmp_path):
    with Moltbook(tmp_path / "moltbook.db") as ledger:
        events(ledger, "launch", "reddit", ("PUBLISH_INTENT", "pending"),
               ("PLATFORM_RESULT", "success", "https://reddit.example/r/1"))
        state = draft_states(ledger, [make_draft()])[("launch", "reddit")]

    assert state.permalink == "https://reddit.example/r/1"
    assert state.at and state.at.endswith("Z")
    assert state.is_settled


@pytest.mark.parametrize("name,settled", [
    ("queued", False), ("failed", False), ("blocked", False),
    ("dry-run", False), ("published", True), ("unknown", True)])
def test_only_published_and_unknown_are_settled(name, settled):
    assert State(name).is_settled is settled


def test_drafts_command_lists_states(config, capsys):
    import argparse

    from marketing_ops.drafts import command_drafts

    write(config, "launch.md", GOOD)
    state_dir = config.parent / "state"
    with Moltbook(state_dir / "moltbook.db") as ledger:
        events(ledger, "launch", "github", ("PUBLISH_INTENT", "pending"),
               ("PLATFORM_RESULT", "success", "https://gh.example/d/1"))

    code = command_drafts(argparse.Namespace(config_dir=str(config),
                                             state_dir=str(state_dir)))

    out = capsys.readouterr().out
    assert code == 0
    assert "launch  'We launched'" in out
    assert "published" in out and "https://gh.example/d/1" in out
    x_line = [line for line in out.splitlines()
              if line.strip().startswith("x ")]
    assert x_line and "queued" in x_line[0]


def test_drafts_command_reports_bad_drafts_and_exits_2(config, capsys):
    import argparse

    from marketing_ops.drafts import command_drafts

    write(config, "launch.md", GOOD)
    write(config, "bad.md", front(platforms="[myspace]"))

    code = command_drafts(argparse.Namespace(
        config_dir=str(config), state_dir=str(config.parent / "state")))

    captured = capsys.readouterr()
    assert code == 2
    assert "config/drafts/bad.md:4:13: platforms[0]" in captured.err
    assert "launch" in captured.out
    # Listing must not create a ledger.
    assert not (config.parent / "state" / "moltbook.db").exists()
