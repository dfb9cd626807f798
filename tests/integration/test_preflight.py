"""``marketing-ops preflight`` and ``run_preflight`` against the sandbox:
the exact report without credentials, concurrency, and the circuit
breakers' whole life (open, skip, cool down, close, reset, damaged lock,
changed credentials)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from marketing_ops.config.settings import load_settings
from marketing_ops.moltbook import open_ledger
from marketing_ops.agents.preflight import run_preflight
from marketing_ops.safety import circuit

NO_CREDENTIALS_REPORT = """\
Platforms checked: 6
Platforms valid: 0
Circuit breakers opened: 6 (all UNSUPPORTED_AUTH)
github: UNSUPPORTED_AUTH - No credentials
telegram: UNSUPPORTED_AUTH - No credentials
x: UNSUPPORTED_AUTH - No credentials
reddit: UNSUPPORTED_AUTH - No credentials
discord: UNSUPPORTED_AUTH - No credentials
hn: UNSUPPORTED_AUTH - Disabled
"""


def write_config(folder: Path, urls: dict, **top) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = {"request_timeout_seconds": 5,
                "preflight_timeout_seconds": 10,
                "circuit_breakers": {"default_cooldown_hours": 24},
                "platforms": {**urls, "hn": {}}, **top}
    (folder / "platforms.yaml").write_text(yaml.safe_dump(document))
    return folder


def cli(config_dir, state_dir, *args, env=None):
    environ = {"PATH": os.environ["PATH"], "HOME": str(state_dir),
               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "marketing_ops.cli", "--config-dir",
         str(config_dir), "--state-dir", str(state_dir), *args],
        env=environ, capture_output=True, text=True, timeout=60)


class Setup:
    """Settings, platforms.yaml and ledger for in-process runs."""

    def __init__(self, sandbox, tmp_path):
        self.sandbox = sandbox
        self.config_dir = write_config(tmp_path / "config",
                                       sandbox.platform_urls())
        self.state_dir = tmp_path / "state"
        self.env = dict(sandbox.env())

    @property
    def settings(self):
        return load_settings(self.config_dir, self.state_dir,
                             environ=self.env)

    @property
    def platforms_config(self):
        return yaml.safe_load((self.config_dir / "platforms.yaml")
                              .read_text())

    def run(self, platforms=None, now=None):
        settings = self.settings
        with open_ledger(settings) as ledger:
            return {r.platform: r for r in run_preflight(
                settings, self.platforms_config, ledger,
                platforms=platforms, now=now)}

    def events(self, **filters):
        with open_ledger(self.settings) as ledger:
            return ledger.query(**filters)


@pytest.fixture
def setup(sandbox, tmp_path):
    return Setup(sandbox, tmp_path)


# -- the command -------------------------------------------------------------

def test_without_credentials_the_report_reads_exactly(sandbox, tmp_path):
    config = write_config(tmp_path / "config", sandbox.platform_urls())

    first = cli(config, tmp_path / "state", "preflight")
    second = cli(config, tmp_path / "state", "preflight")

    assert first.stdout == NO_CREDENTIALS_REPORT
    assert first.returncode == 1
    # Unchanged on the next run, when the breakers are open already.
    assert second.stdout == NO_CREDENTIALS_REPORT
    assert sandbox.posts == []


def test_all_valid_exits_zero_and_json_has_every_platform(sandbox,
                                                          tmp_path):
    config = write_config(tmp_path / "config", sandbox.platform_urls())

    done = cli(config, tmp_path / "state", "preflight", "--json",
               env=sandbox.env())

    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (report["checked"], report["valid"]) == (6, 5)
    assert report["breakers_open"] == {"UNSUPPORTED_AUTH": 1}   # hn, off
    assert [r["platform"] for r in report["results"]] == [
        "github", "telegram", "x", "reddit", "discord", "hn"]


def test_an_enabled_hn_always_fails_the_preflight(sandbox, tmp_path):
    config = write_config(tmp_path / "config", sandbox.platform_urls())

    done = cli(config, tmp_path / "state", "preflight",
               env={**sandbox.env(), "ENABLE_HN": "true"})

    assert done.returncode == 1
    assert "hn: UNSUPPORTED_AUTH - No API" in done.stdout.splitlines()


def test_a_bad_platforms_yaml_is_one_located_line(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "platforms.yaml").write_text("platforms:\n  myspace: {}\n")

    done = cli(config, tmp_path / "state", "preflight")

    assert done.returncode == 2
    assert "platforms.yaml:2:3: platforms.myspace: unknown key" in \
        done.stderr
    assert "Traceback" not in done.stderr


# -- concurrency and timeouts ------------------------------------------------

def test_platforms_are_checked_concurrently(setup):
    setup.sandbox.set_latency(0.3)

    started = time.monotonic()
    results = setup.run()
    elapsed = time.monotonic() - started

    checks = sum(r.seconds for r in results.values())
    assert all(results[p].ok for p in ("github", "telegram", "x", "reddit",
                                       "discord"))
    # Sequential checks would take at least the sum of their times.
    assert elapsed < 0.6 * checks


def test_a_platform_over_its_preflight_timeout_fails_alone(setup):
    document = setup.platforms_config
    document["platforms"]["github"]["preflight_timeout_seconds"] = 0.5
    (setup.config_dir / "platforms.yaml").write_text(
        yaml.safe_dump(document))
    setup.sandbox.inject("github", "preflight", "latency", times=1,
                         seconds=3)

    results = setup.run()

    assert results["github"].reason_code == "NETWORK_ERROR"
    assert "0.5 s" in results["github"].detail
    assert results["telegram"].ok


# -- breakers ---------------------------------------------------------------

def bad_github(setup):
    setup.env["GITHUB_TOKEN"] = "ghp_" + "W" * 36


def test_failure_opens_a_breaker_with_event_and_lock(setup):
    bad_github(setup)

    results = setup.run()

    assert results["github"].reason_code == "AUTH_FAILED"
    lock = json.loads(circuit.lock_path(setup.settings, "github")
                      .read_text())
    assert lock["reason_code"] == "AUTH_FAILED"
    assert "W" * 36 not in json.dumps(lock)
    [event] = setup.events(action="CIRCUIT_BREAKER_OPENED",
                           platform="github")
    assert event["status"] == "blocked"
    assert event["message"].startswith("github: AUTH_FAILED - ")


def test_an_open_breaker_is_not_called_while_cooling_down(setup):
    bad_github(setup)
    setup.run()
    # If preflight called GitHub now, this fault would be consumed.
    setup.sandbox.inject("github", "preflight", "server_error", times=1)

    results = setup.run()

    assert results["github"].skipped
    assert results["github"].reason_code == "AUTH_FAILED"
    assert "not called" in results["github"].detail
    assert len(setup.sandbox.faults()) == 1
    assert len(setup.events(action="CIRCUIT_BREAKER_OPENED",
                            platform="github")) == 1
    assert len(setup.events(action="PREFLIGHT_SKIPPED")) == 1


def test_changed_credentials_are_checked_at_once(setup):
    bad_github(setup)
    setup.run()
    setup.env = dict(setup.sandbox.env())        # the operator fixed it

    results = setup.run()

    assert results["github"].ok and not results["github"].skipped
    assert not circuit.is_open(setup.settings, "github")
    assert setup.events(action="CIRCUIT_BREAKER_CLOSED", platform="github")


def revoked_then_restored(setup):
    """The breaker opens for credentials the platform refused; then the
    platform accepts the very same credentials again (same fingerprint),
    so only the breaker's own rules decide whether preflight calls."""
    setup.sandbox.revoke("github")
    assert setup.run()["github"].reason_code == "AUTH_FAILED"
    setup.sandbox.reset()


def test_after_the_cooldown_a_failure_reopens_the_breaker(setup):
    bad_github(setup)
    setup.run()
    later = datetime.now(timezone.utc) + timedelta(hours=25)

    results = setup.run(now=later)

    assert not results["github"].skipped
    assert results["github"].reason_code == "AUTH_FAILED"
    opened = setup.events(action="CIRCUIT_BREAKER_OPENED", platform="github")
    assert [e["details"]["reopened"] for e in opened] == [False, True]
    breaker = circuit.read_breaker(setup.settings, "github")
    assert breaker.cooldown_until > later


def test_after_the_cooldown_a_pass_closes_the_breaker(setup):
    revoked_then_restored(setup)
    later = datetime.now(timezone.utc) + timedelta(hours=25)

    during = setup.run()["github"]
    after = setup.run(now=later)["github"]

    assert during.skipped
    assert after.ok
    assert not circuit.is_open(setup.settings, "github")
    assert setup.events(action="CIRCUIT_BREAKER_CLOSED", platform="github")


def test_a_lock_whose_cooldown_lies_in_the_past_is_checked_again(setup):
    revoked_then_restored(setup)
    lock = circuit.lock_path(setup.settings, "github")
    data = json.loads(lock.read_text())
    data["cooldown_until"] = "2000-01-01T00:00:00Z"
    lock.write_text(json.dumps(data))

    results = setup.run()

    assert results["github"].ok
    assert not circuit.is_open(setup.settings, "github")


def test_a_damaged_lock_is_reported_and_skipped_never_crashes(setup):
    path = circuit.lock_path(setup.settings, "telegram")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{half a lock")

    results = setup.run()

    assert results["telegram"].skipped
    assert "unreadable" in results["telegram"].detail
    assert results["github"].ok
    assert circuit.is_open(setup.settings, "telegram")


def test_reset_from_the_command_line_lets_the_next_preflight_call(setup):
    revoked_then_restored(setup)
    assert setup.run()["github"].skipped

    done = cli(setup.config_dir, setup.state_dir, "circuit", "reset",
               "github")
    results = setup.run()

    assert done.returncode == 0, done.stderr
    assert results["github"].ok
    [event] = setup.events(action="CIRCUIT_BREAKER_RESET")
    assert event["status"] == "success"


def test_enabling_a_disabled_platform_checks_it_at_once(setup):
    setup.env["ENABLE_DISCORD"] = "false"
    assert setup.run()["discord"].detail == "Disabled"

    setup.env["ENABLE_DISCORD"] = "true"
    results = setup.run()

    assert results["discord"].ok


def test_every_result_is_in_the_ledger(setup):
    bad_github(setup)

    setup.run()

    passed = {e["platform"] for e in setup.events(action="PREFLIGHT_PASSED")}
    failed = {e["platform"] for e in setup.events(action="PREFLIGHT_FAILED")}
    assert passed == {"telegram", "x", "reddit", "discord"}
    assert failed == {"github", "hn"}
