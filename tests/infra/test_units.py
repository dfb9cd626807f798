"""Units and timers: the same text the package renders, enabled, hardened,
and due at the expected local time."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from conftest import AGENTS, exposure
from marketing_ops.render import render_units

UNIT_DIR = "/etc/systemd/system"

# The repository's default schedule, spelled out independently of systemd:
# the next start after a moment, in local time of the schedule's zone.
DEFAULT_SCHEDULE = {
    "orchestrator": ("*-*-* 09:00:00", "5min"),
    "community": ("*-*-* 00/2:00:00", "10min"),
    "partnerships": ("Mon *-*-* 10:00:00", "30min"),
}
DELAY_SECONDS = {"5min": 300, "10min": 600, "30min": 1800}


def next_start(agent: str, after: dt.datetime) -> dt.datetime:
    local = after.astimezone(ZoneInfo("Europe/Berlin"))
    if agent == "orchestrator":
        candidate = local.replace(hour=9, minute=0, second=0, microsecond=0)
        step = dt.timedelta(days=1)
    elif agent == "community":
        candidate = local.replace(hour=local.hour - local.hour % 2,
                                  minute=0, second=0, microsecond=0)
        step = dt.timedelta(hours=2)
    else:
        candidate = (local - dt.timedelta(days=local.weekday())).replace(
            hour=10, minute=0, second=0, microsecond=0)
        step = dt.timedelta(days=7)
    while candidate <= local:
        # Step in local wall-clock time, as systemd's calendar does.
        candidate = (candidate.replace(tzinfo=None) + step).replace(
            tzinfo=ZoneInfo("Europe/Berlin"))
    return candidate


def time_property(host, unit: str, name: str) -> dt.datetime | None:
    value = host.check_output(
        f"systemctl show {unit} -p {name} --value --timestamp=utc").strip()
    if not value or value == "n/a":
        return None
    return dt.datetime.strptime(value, "%a %Y-%m-%d %H:%M:%S UTC"
                                ).replace(tzinfo=dt.timezone.utc)


def test_deployed_schedule_is_the_documented_default(deployed_schedule):
    assert deployed_schedule["timezone"] == "Europe/Berlin"
    for agent, (calendar, delay) in DEFAULT_SCHEDULE.items():
        entry = deployed_schedule["agents"][agent]
        assert (entry["on_calendar"], entry["randomized_delay"]) == \
            (calendar, delay)


def test_installed_units_are_what_the_package_renders(host,
                                                      deployed_schedule):
    # One definition: the role's template tasks and render.py produce the
    # same bytes from templates/.
    for name, text in render_units(deployed_schedule).items():
        assert host.file(f"{UNIT_DIR}/{name}").content_string == text, name


@pytest.mark.parametrize("agent", AGENTS)
def test_timer_is_enabled_and_waiting(host, agent):
    timer = host.service(f"marketing-{agent}.timer")

    assert timer.is_enabled
    assert timer.is_running


# The orchestrator is left out: test_runs.py starts it on purpose. By the
# time this runs, the scenario has converged twice (converge, idempotence);
# test_playbook.py checks the same after a rerun that restarts a timer.
@pytest.mark.parametrize("agent", ["community", "partnerships"])
def test_service_is_not_started_by_the_deployment(host, agent):
    # Oneshot jobs run only from their timers; converging must not run one.
    result = host.run(f"systemctl show marketing-{agent}.service "
                      "-p ExecMainStartTimestampMonotonic --value")
    assert result.stdout.strip() == "0"


@pytest.mark.parametrize("agent", AGENTS)
def test_timer_next_run_is_at_the_berlin_time_plus_its_fixed_delay(host,
                                                                    agent):
    unit = f"marketing-{agent}.timer"
    # systemd counts from the last trigger (with Persistent=, the stamp it
    # keeps; a new timer's stamp is its first start), else from activation.
    since = (time_property(host, unit, "LastTriggerUSec")
             or time_property(host, unit, "ActiveEnterTimestamp"))
    due = time_property(host, unit, "NextElapseUSecRealtime")

    expected = next_start(agent, since)
    delay = DELAY_SECONDS[DEFAULT_SCHEDULE[agent][1]]
    assert expected <= due <= expected + dt.timedelta(seconds=delay), \
        f"{unit} is due {due}, expected {expected} + up to {delay}s"


@pytest.mark.parametrize("agent", AGENTS)
def test_service_exposure_is_at_most_two(host, agent):
    assert exposure(host, f"marketing-{agent}.service") <= 2.0
