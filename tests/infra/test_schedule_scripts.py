"""bin/disable-schedule.sh and bin/enable-schedule.sh on the server."""

import json

from conftest import AGENTS, CLI, INSTALL_DIR

TIMERS = [f"marketing-{agent}.timer" for agent in AGENTS]
UNIT = "/etc/systemd/system/marketing-partnerships.service"


def recorded(host, action: str) -> list[dict]:
    output = host.check_output(f"{CLI} events --json --action {action}")
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_disable_then_enable_schedule_switches_the_timers(host):
    unit_before = host.file(UNIT).content_string

    disabled = host.run(f"{INSTALL_DIR}/bin/disable-schedule.sh")
    assert disabled.rc == 0, disabled.stderr
    for timer in TIMERS:
        assert not host.service(timer).is_enabled
        assert not host.service(timer).is_running
    assert recorded(host, "SCHEDULE_DISABLED")

    # A missing unit is rendered again from config/schedule.yaml.
    host.check_output(f"rm {UNIT}")
    enabled = host.run(f"{INSTALL_DIR}/bin/enable-schedule.sh")
    assert enabled.rc == 0, enabled.stderr
    for timer in TIMERS:
        assert host.service(timer).is_enabled
        assert host.service(timer).is_running
    assert recorded(host, "SCHEDULE_ENABLED")
    assert host.file(UNIT).content_string == unit_before
