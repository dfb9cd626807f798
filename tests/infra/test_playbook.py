"""The playbook itself, rerun against the converged host: --check --diff
shows no secret, a changed schedule touches only its timer, and an invalid
configuration stops the play before anything is switched over."""

import shutil

import yaml

from conftest import CONFIG_DIR, INSTALL_DIR, changed_items, \
    ephemeral_dir, run_playbook, total_changed


def copy_config(name: str):
    source = ephemeral_dir() / "config"
    target = ephemeral_dir() / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    return target


def test_check_diff_changes_nothing_and_shows_no_secret(secret_values):
    result = run_playbook("--check", "--diff")

    output = result.stdout + result.stderr
    for secret in secret_values:
        assert secret not in output
    assert "PLAY RECAP" in result.stdout
    assert total_changed(result) == 0, changed_items(result)


def test_changing_one_schedule_changes_only_that_timer(host):
    config = copy_config("config-changed-schedule")
    schedule = yaml.safe_load((config / "schedule.yaml").read_text())
    schedule["agents"]["community"]["on_calendar"] = "*-*-* 00/3:00:00"
    (config / "schedule.yaml").write_text(yaml.safe_dump(schedule))
    others = {agent: host.check_output(
        f"systemctl show marketing-{agent}.timer -p ActiveEnterTimestamp")
        for agent in ("orchestrator", "partnerships")}

    # Not restored afterwards: this module runs last (see conftest.py).
    changed = changed_items(run_playbook(
        "-e", f"marketing_ops_config_src_dir={config}"))

    assert changed.pop("Install one timer per agent") == ["community"]
    assert changed.pop("Restart the timers that changed") == ["community"]
    # The schedule.yaml itself is copied (staged, then installed).
    assert changed.pop("Stage the YAML configuration") == ["schedule.yaml"]
    assert changed.pop("Install the YAML configuration") == ["schedule.yaml"]
    # daemon-reload reports no change of its own; nothing else may.
    assert set(changed) <= {"Reload systemd"}, changed
    calendar = host.check_output(
        "systemctl show marketing-community.timer -p TimersCalendar")
    assert "00/3:00:00" in calendar
    for agent, before in others.items():
        assert host.check_output(
            f"systemctl show marketing-{agent}.timer "
            "-p ActiveEnterTimestamp") == before
    # Restarting the changed timer did not run its oneshot service.
    assert host.check_output(
        "systemctl show marketing-community.service "
        "-p ExecMainStartTimestampMonotonic --value").strip() == "0"


def test_invalid_configuration_fails_the_play_and_keeps_the_running_one(
        host):
    config = copy_config("config-invalid")
    platforms = (config / "platforms.yaml").read_text()
    (config / "platforms.yaml").write_text(
        platforms.replace("request_timeout_seconds:",
                          "request_timeout_secondz:", 1))
    live_before = host.file(f"{CONFIG_DIR}/platforms.yaml").sha256sum
    venv_before = host.file(f"{INSTALL_DIR}/venv").linked_to

    result = run_playbook("-e", f"marketing_ops_config_src_dir={config}",
                          check=False)

    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "validate rejected the new configuration" in output
    assert "platforms.yaml:" in output
    assert "request_timeout_secondz: unknown key" in output
    assert host.file(f"{CONFIG_DIR}/platforms.yaml").sha256sum == live_before
    assert host.file(f"{INSTALL_DIR}/venv").linked_to == venv_before
