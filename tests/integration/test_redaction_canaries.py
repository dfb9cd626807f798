"""Canary secrets: distinctive credential values, run through failing and
succeeding calls with DEBUG logging on, must appear in no log line, no
exception message, no ledger event, no lock file and no command output.

The failing half uses canaries the sandbox refuses.  The succeeding half
uses the sandbox's own credentials as canaries (they are the only ones it
accepts); log records from the sandbox itself are left out, since it plays
the platform, which of course sees them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from marketing_ops.agents.preflight import run_preflight
from marketing_ops.config.settings import SECRET_NAMES, load_settings
from marketing_ops.drafts import Draft
from marketing_ops.moltbook import open_ledger
from marketing_ops.platforms.base import (ReadFailed, Unsupported,
                                          get_connector)

CANARIES = {
    "GITHUB_TOKEN": "ghp_CANARYgithub0000000000000000000000000",
    "TELEGRAM_BOT_TOKEN": "987654321:AAcanaryTelegram-00000000000000000",
    "X_API_KEY": "CANARYxApiKey000000000000",
    "X_API_SECRET": "CANARYxApiSecret00000000000000000000000000000",
    "X_ACCESS_TOKEN": "1700000000000000001-CANARYxAccess00000000000",
    "X_ACCESS_SECRET": "CANARYxAccessSecret000000000000000000000000",
    "REDDIT_CLIENT_ID": "CANARYredditId00000000",
    "REDDIT_CLIENT_SECRET": "CANARY-reddit-secret-0000000000",
    "REDDIT_PASSWORD": "CANARY-reddit-password-0000",
}
PUBLISHERS = ("github", "telegram", "x", "reddit", "discord")


def canary_env(sandbox) -> dict[str, str]:
    env = {**sandbox.env(), **CANARIES}
    webhook = env["DISCORD_WEBHOOK_URL"].rsplit("/", 1)[0]
    env["DISCORD_WEBHOOK_URL"] = webhook + "/CANARYdiscordWebhookToken000"
    return env


def secrets_in(env) -> list[str]:
    values = [env[name] for name in SECRET_NAMES if env.get(name)]
    values.append(env["DISCORD_WEBHOOK_URL"].rsplit("/", 1)[-1])
    return values


def write_config(folder: Path, sandbox) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    urls = sandbox.platform_urls()
    urls["x"]["live_preflight"] = True
    urls["x"]["read_mentions"] = True
    (folder / "platforms.yaml").write_text(yaml.safe_dump(
        {"request_timeout_seconds": 3, "platforms": {**urls, "hn": {}}}))
    return folder


class Everything(logging.Handler):
    """Every record any logger emits, formatted with its arguments."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        if record.name.startswith("marketing_ops.sandbox"):
            return
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


@pytest.fixture
def captured():
    handler = Everything()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


def exercise(settings, config) -> list[str]:
    """Preflight, publish, read and reply on every platform; returns every
    outcome and exception text seen."""
    texts = []
    draft = Draft(id="c", title="Canary", body="Body https://example.com\n",
                  platforms=PUBLISHERS)
    with open_ledger(settings) as ledger:
        results = run_preflight(settings, config, ledger)
    texts += [r.line() for r in results]
    for platform in PUBLISHERS:
        connector = get_connector(platform, settings, config)
        connector.http.sleep = lambda seconds: None
        outcome = connector.publish(connector.render(draft, marker="c1"))
        texts.append(repr(outcome))
        try:
            mentions, _ = connector.read_mentions(None)
            texts += [repr(m) for m in mentions]
        except (ReadFailed, Unsupported) as exc:
            texts.append(str(exc))
    return texts


def state_files(state_dir: Path) -> str:
    """Every lock file and the whole ledger, as text."""
    parts = [p.read_text() for p in state_dir.glob("circuit_*.lock")]
    settings = load_settings(state_dir, state_dir, environ={})
    with open_ledger(settings) as ledger:
        parts += [repr(event) for event in ledger.query()]
    return "\n".join(parts)


def leaks(haystacks, secrets) -> list[tuple[str, str]]:
    return [(secret, text[:200]) for text in haystacks for secret in secrets
            if secret in text]


def test_refused_canaries_leak_nowhere(sandbox, tmp_path, captured):
    env = canary_env(sandbox)
    config_dir = write_config(tmp_path / "config", sandbox)
    settings = load_settings(config_dir, tmp_path / "state", environ=env)
    config = yaml.safe_load((config_dir / "platforms.yaml").read_text())

    texts = exercise(settings, config)

    assert any("AUTH_FAILED" in t for t in texts)       # they did fail
    haystacks = texts + captured.lines + [state_files(tmp_path / "state")]
    assert captured.lines                               # DEBUG was on
    assert leaks(haystacks, secrets_in(env)) == []


def test_accepted_credentials_leak_nowhere(sandbox, tmp_path, captured):
    env = dict(sandbox.env())
    config_dir = write_config(tmp_path / "config", sandbox)
    settings = load_settings(config_dir, tmp_path / "state", environ=env)
    config = yaml.safe_load((config_dir / "platforms.yaml").read_text())
    sandbox.seed_mention("x", "hello")

    texts = exercise(settings, config)

    assert len(sandbox.posts) == len(PUBLISHERS)        # they did succeed
    haystacks = texts + captured.lines + [state_files(tmp_path / "state")]
    assert leaks(haystacks, secrets_in(env)) == []


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_command_output_and_debug_log_hold_no_canary(sandbox, tmp_path,
                                                     json_flag):
    env = canary_env(sandbox)
    config_dir = write_config(tmp_path / "config", sandbox)
    environ = {"PATH": os.environ["PATH"], "HOME": str(tmp_path),
               "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
               **env}

    runs = [subprocess.run(
        [sys.executable, "-m", "marketing_ops.cli", "--debug",
         "--config-dir", str(config_dir), "--state-dir",
         str(tmp_path / "state"), *command], env=environ,
        capture_output=True, text=True, timeout=60)
        for command in (["preflight", *json_flag], ["circuit", "list"],
                        ["status"], ["events"])]

    assert "AUTH_FAILED" in runs[0].stdout
    assert "DEBUG" in runs[0].stderr
    outputs = [r.stdout + r.stderr for r in runs]
    assert leaks(outputs + [state_files(tmp_path / "state")],
                 secrets_in(env)) == []
