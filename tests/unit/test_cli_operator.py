"""pause, resume, log, events and status through the real command line."""

import json
import os
import subprocess
import sys

import pytest

# Libraries the light commands must not load.  status reads schedule.yaml
# (for the budget window) with PyYAML, so only --help must avoid that too.
HEAVY = ("requests", "jinja2", "jsonschema", "urllib3")


def cli(tmp_path, *args, env=None):
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("MARKETING_OPS", "PUBLISH", "DRY"))}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "marketing_ops.cli",
         "--config-dir", str(tmp_path / "config"),
         "--state-dir", str(tmp_path / "state"), *args],
        capture_output=True, text=True, env=environment, timeout=60)


def test_pause_creates_stop_all_with_reason_who_and_when(tmp_path):
    result = cli(tmp_path, "pause", "wrong link in the post")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "config/STOP_ALL").read_text()
    assert "reason: wrong link in the post" in text
    assert "paused_by: " in text and "paused_at: " in text

    status = cli(tmp_path, "status")
    assert "STOPPED" in status.stdout and "wrong link" in status.stdout


def test_pausing_twice_keeps_the_first_reason_and_says_so(tmp_path):
    cli(tmp_path, "pause", "first")
    again = cli(tmp_path, "pause", "second")
    assert again.returncode == 0
    assert "already paused" in again.stdout and "first" in again.stdout
    assert "reason: first" in (tmp_path / "config/STOP_ALL").read_text()


def test_resume_removes_stop_all_and_both_are_logged(tmp_path):
    cli(tmp_path, "pause", "checking")
    assert cli(tmp_path, "resume").returncode == 0
    assert not (tmp_path / "config/STOP_ALL").exists()

    events = cli(tmp_path, "events", "--json")
    actions = [json.loads(line)["action"]
               for line in events.stdout.splitlines()]
    assert actions == ["PUBLISHING_PAUSED", "PUBLISHING_RESUMED"]


def test_events_filters(tmp_path):
    cli(tmp_path, "log", "SCHEDULE_ENABLED", "timers on")
    cli(tmp_path, "log", "SCHEDULE_DISABLED", "timers off", "--status",
        "success")
    listed = cli(tmp_path, "events", "--action", "SCHEDULE_DISABLED",
                 "--json")
    [only] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert only["action"] == "SCHEDULE_DISABLED"
    assert only["agent"] == "operator"

    latest = cli(tmp_path, "events", "--limit", "1")
    assert "SCHEDULE_DISABLED" in latest.stdout
    assert "SCHEDULE_ENABLED" not in latest.stdout

    bad = cli(tmp_path, "events", "--since", "yesterday-ish")
    assert bad.returncode == 2 and "use e.g. 24h" in bad.stderr


def test_log_refuses_an_action_that_is_not_a_name(tmp_path):
    result = cli(tmp_path, "log", "enable it", "msg")
    assert result.returncode == 2
    assert "CAPITALS_WITH_UNDERSCORES" in result.stderr


def test_bad_env_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config/.env").write_text("ENABLE_HN=false  # No API\n")
    result = cli(tmp_path, "status")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert ".env:1:" in result.stderr


@pytest.mark.parametrize("args,heavy", [
    (["--help"], HEAVY + ("yaml",)),
    (["status"], HEAVY),
    (["events"], HEAVY),
    (["events", "stats"], HEAVY)])
def test_light_commands_do_not_import_heavy_libraries(tmp_path, args, heavy):
    code = ("import sys, runpy; sys.argv = ['marketing-ops', "
            f"'--config-dir', {str(tmp_path)!r}, '--state-dir', "
            f"{str(tmp_path)!r}] + {args!r}\n"
            "try:\n"
            "    runpy.run_module('marketing_ops.cli', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
