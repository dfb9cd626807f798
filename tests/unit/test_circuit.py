"""Circuit breaker lock files: what they hold, how they cool down, and
that a damaged one keeps the platform out instead of crashing a run."""

from __future__ import annotations

import json
import os
from argparse import Namespace
from datetime import datetime, timedelta, timezone

import pytest

from marketing_ops.config.settings import load_settings
from marketing_ops.moltbook import open_ledger
from marketing_ops.safety import circuit

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
CONFIG = {"circuit_breakers": {"default_cooldown_hours": 24,
                               "cooldown_hours": {"RATE_LIMITED": 1}}}


@pytest.fixture
def settings(tmp_path):
    return load_settings(tmp_path / "config", tmp_path / "state",
                         environ={})


@pytest.fixture
def ledger(settings):
    with open_ledger(settings) as book:
        yield book


def opened(settings, ledger, reason="AUTH_FAILED", platform="github"):
    return circuit.open_breaker(settings, ledger, platform, reason,
                                "Bad credentials", "f1ngerpr1nt",
                                platforms_config=CONFIG, now=NOW)


def test_lock_file_holds_reason_detail_times_and_fingerprint(settings,
                                                             ledger):
    opened(settings, ledger)

    data = json.loads(circuit.lock_path(settings, "github").read_text())

    assert data == {"version": 1, "platform": "github",
                    "reason_code": "AUTH_FAILED",
                    "detail": "Bad credentials",
                    "opened_at": "2026-03-01T09:00:00Z",
                    "cooldown_until": "2026-03-02T09:00:00Z",
                    "fingerprint": "f1ngerpr1nt"}


def test_opening_leaves_no_temporary_file_behind(settings, ledger):
    opened(settings, ledger)

    names = os.listdir(settings.state_dir)
    assert "circuit_github.lock" in names
    assert [n for n in names if n.endswith(".tmp")] == []


def test_opening_records_a_blocked_event_with_the_reason(settings, ledger):
    opened(settings, ledger)

    [event] = ledger.query(action="CIRCUIT_BREAKER_OPENED")

    assert (event["status"], event["platform"], event["reason_code"]) == (
        "blocked", "github", "AUTH_FAILED")
    assert event["message"] == "github: AUTH_FAILED - Bad credentials"


@pytest.mark.parametrize("reason,hours", [("RATE_LIMITED", 1),
                                          ("AUTH_FAILED", 24),
                                          ("NETWORK_ERROR", 24)])
def test_cooldown_comes_from_the_reason_code_else_the_default(
        settings, ledger, reason, hours):
    breaker = opened(settings, ledger, reason)

    assert breaker.cooldown_until - breaker.opened_at == \
        timedelta(hours=hours)
    assert breaker.cooling_down(NOW + timedelta(hours=hours, seconds=-1))
    assert not breaker.cooling_down(NOW + timedelta(hours=hours))


def test_cooldown_default_without_configuration_is_a_day():
    assert circuit.cooldown_hours({}, "AUTH_FAILED") == 24


def test_an_expired_cooldown_still_counts_as_open_until_preflight(
        settings, ledger):
    opened(settings, ledger)

    breaker = circuit.read_breaker(settings, "github")

    assert not breaker.cooling_down(NOW + timedelta(days=2))
    assert circuit.is_open(settings, "github")


@pytest.mark.parametrize("content", [
    b"", b"{not json", b"[1, 2]", b'{"reason_code": "AUTH_FAILED"}',
    b'{"reason_code": "X", "cooldown_until": "yesterday"}',
    b"\xff\xfe not utf-8",
])
def test_a_damaged_lock_counts_as_open_and_cooling_down(settings, content):
    path = circuit.lock_path(settings, "telegram")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)

    breaker = circuit.read_breaker(settings, "telegram")

    assert breaker.corrupt
    assert breaker.cooling_down(NOW + timedelta(days=365))
    assert circuit.is_open(settings, "telegram")
    assert "circuit reset telegram" in breaker.describe()


def test_an_unreadable_lock_counts_as_open(settings):
    path = circuit.lock_path(settings, "x")
    path.mkdir(parents=True)          # reading a directory fails

    breaker = circuit.read_breaker(settings, "x")

    assert breaker.corrupt and circuit.is_open(settings, "x")


def test_close_removes_the_lock_and_records_it(settings, ledger):
    opened(settings, ledger)

    closed = circuit.close_breaker(settings, ledger, "github", "ok again")
    again = circuit.close_breaker(settings, ledger, "github", "ok again")

    assert (closed, again) == (True, False)
    assert not circuit.is_open(settings, "github")
    [event] = ledger.query(action="CIRCUIT_BREAKER_CLOSED")
    assert event["details"] == {"was": "AUTH_FAILED"}


def test_reset_removes_even_a_damaged_lock(settings, ledger):
    path = circuit.lock_path(settings, "reddit")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("garbage")

    assert circuit.reset_breaker(settings, ledger, "reddit", "ops@host")
    assert not circuit.is_open(settings, "reddit")
    [event] = ledger.query(action="CIRCUIT_BREAKER_RESET")
    assert event["status"] == "success" and "ops@host" in event["message"]


def test_circuit_commands_list_and_reset(settings, ledger, capsys):
    opened(settings, ledger, platform="discord")
    args = Namespace(config_dir=str(settings.config_dir),
                     state_dir=str(settings.state_dir))

    circuit.command(Namespace(**vars(args), action="list", platform=None))
    listing = capsys.readouterr().out
    circuit.command(Namespace(**vars(args), action="reset",
                              platform="discord"))
    reset = capsys.readouterr().out
    circuit.command(Namespace(**vars(args), action="list", platform=None))
    after = capsys.readouterr().out

    assert "discord" in listing and "OPEN" in listing
    assert "AUTH_FAILED - Bad credentials" in listing
    assert "reset" in reset
    assert after == "Circuit breakers:\n  all closed\n"


def test_reset_of_an_unknown_platform_is_one_clear_line(settings):
    from marketing_ops.errors import ConfigError

    args = Namespace(config_dir=str(settings.config_dir),
                     state_dir=str(settings.state_dir), action="reset",
                     platform="myspace")

    with pytest.raises(ConfigError, match="one of github, telegram"):
        circuit.command(args)
