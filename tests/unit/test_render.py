"""render.py: units and .env from templates/, and the render command."""

import copy
import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, strategies as st

from marketing_ops.cli import main
from marketing_ops.config.envfile import parse_env_text
from marketing_ops.errors import ConfigError
from marketing_ops.render import check_calendar, render_env, render_units

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = yaml.safe_load((REPO / "config" / "schedule.yaml").read_text())
HAS_SYSTEMD_ANALYZE = shutil.which("systemd-analyze") is not None


def directives(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if line and not line.startswith(("#", "["))]


def test_one_service_and_one_timer_per_scheduled_agent():
    units = render_units(SCHEDULE)

    assert sorted(units) == [
        f"marketing-{agent}.{kind}"
        for agent in ("community", "orchestrator", "partnerships")
        for kind in ("service", "timer")]


def test_service_runs_its_agent_as_the_service_user_with_the_env_file():
    service = directives(render_units(SCHEDULE)["marketing-community.service"])

    assert "Type=oneshot" in service
    assert ("ExecStart=/opt/marketing-ops/venv/bin/marketing-ops run "
            "community") in service
    assert "User=marketing-ops" in service
    assert "EnvironmentFile=/opt/marketing-ops/config/.env" in service
    assert ("Environment=MARKETING_OPS_CONFIG_DIR=/opt/marketing-ops/config"
            in service)
    assert ("Environment=MARKETING_OPS_STATE_DIR=/var/lib/marketing-ops"
            in service)
    assert "StateDirectory=marketing-ops" in service
    assert "StandardOutput=journal" in service


def test_service_follows_the_install_dir_user_and_state_dir_given():
    units = render_units(SCHEDULE, install_dir="/srv/mo", state_dir="/srv/st",
                         user="publisher")
    service = directives(units["marketing-orchestrator.service"])

    assert "ExecStart=/srv/mo/venv/bin/marketing-ops run orchestrator" in \
        service
    assert "User=publisher" in service
    # Outside /var/lib, StateDirectory= cannot name it.
    assert "ReadWritePaths=/srv/st" in service
    assert not any(line.startswith("StateDirectory=") for line in service)


def test_timer_carries_the_schedule_and_its_time_zone():
    timer = directives(render_units(SCHEDULE)["marketing-partnerships.timer"])

    assert "OnCalendar=Mon *-*-* 10:00:00 Europe/Berlin" in timer
    assert "RandomizedDelaySec=30min" in timer
    assert "Persistent=true" in timer
    assert "Unit=marketing-partnerships.service" in timer


def test_changing_one_schedule_changes_only_that_timer():
    changed = copy.deepcopy(SCHEDULE)
    changed["agents"]["community"]["on_calendar"] = "*-*-* 00/3:00:00"

    before, after = render_units(SCHEDULE), render_units(changed)

    assert [name for name in before if before[name] != after[name]] == \
        ["marketing-community.timer"]


def test_missing_randomized_delay_means_none():
    schedule = copy.deepcopy(SCHEDULE)
    del schedule["agents"]["orchestrator"]["randomized_delay"]

    timer = directives(render_units(schedule)["marketing-orchestrator.timer"])

    assert "RandomizedDelaySec=0" in timer


@pytest.mark.parametrize("value,expected", [
    ("plain", "plain"),
    ("  padded  ", "  padded  "),
    ("a # not a comment", "a # not a comment"),
    ('say "hi"', 'say "hi"'),
    ("it's", "it's"),
    ("$HOME ${PATH} $$", "$HOME ${PATH} $$"),
    ("C:\\new\\table\\", "C:\\new\\table\\"),
    ("`id` $(id)", "`id` $(id)"),
    ("tab\there", "tab\there"),
    ("", ""),
    (True, "true"),
    (False, "false"),
    (None, ""),
    (3, "3"),
])
def test_env_values_read_back_unchanged(value, expected):
    text = render_env({"NAME": value})

    assert parse_env_text(text) == {"NAME": expected}


def test_env_comments_stay_on_their_own_lines():
    text = render_env({"A": "x # y", "B": "z"})

    value_lines = [line for line in text.splitlines()
                   if line and not line.startswith("#")]
    assert value_lines == ['A="x # y"', 'B="z"']


@given(st.dictionaries(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")),
            max_size=40),
    max_size=5))
def test_any_printable_values_read_back_unchanged(values):
    assert parse_env_text(render_env(values)) == values


@pytest.mark.parametrize("values", [
    {"1BAD": "x"}, {"BAD-NAME": "x"}, {"": "x"}])
def test_env_refuses_invalid_names(values):
    with pytest.raises(ConfigError, match="not a valid variable name"):
        render_env(values)


def test_env_refuses_a_control_character_by_name():
    with pytest.raises(ConfigError, match="BELL"):
        render_env({"BELL": "ding\x07"})


@pytest.mark.skipif(not HAS_SYSTEMD_ANALYZE, reason="needs systemd-analyze")
def test_calendar_check_accepts_the_default_schedule():
    for entry in SCHEDULE["agents"].values():
        check_calendar(f"{entry['on_calendar']} {SCHEDULE['timezone']}")


@pytest.mark.skipif(not HAS_SYSTEMD_ANALYZE, reason="needs systemd-analyze")
@pytest.mark.parametrize("expression", [
    "*-*-* 25:00:00 Europe/Berlin", "Mon *-*-* 10:00:00 Mars/Olympus",
    "every tuesday"])
def test_calendar_check_refuses_what_systemd_refuses(expression):
    with pytest.raises(ConfigError, match="systemd rejects"):
        check_calendar(expression)


def write_config(tmp_path: Path, schedule_text: str) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "schedule.yaml").write_text(schedule_text)
    return config


def test_render_units_command_writes_the_units(tmp_path):
    config = write_config(tmp_path, (REPO / "config" / "schedule.yaml")
                          .read_text())
    output = tmp_path / "units"

    assert main(["--config-dir", str(config), "--state-dir",
                 str(tmp_path / "state"), "render", "units", "--output-dir",
                 str(output)]) == 0

    written = {p.name: p.read_text() for p in output.iterdir()}
    assert written == render_units(SCHEDULE, state_dir=str(tmp_path /
                                                              "state"))


def test_render_units_command_leaves_unchanged_files_alone(tmp_path):
    config = write_config(tmp_path, (REPO / "config" / "schedule.yaml")
                          .read_text())
    output = tmp_path / "units"
    args = ["--config-dir", str(config), "render", "units", "--output-dir",
            str(output)]
    main(args)
    timer = output / "marketing-orchestrator.timer"
    stamp = timer.stat().st_mtime_ns - 10_000_000
    os.utime(timer, ns=(stamp, stamp))

    main(args)

    assert timer.stat().st_mtime_ns == stamp


def test_render_units_command_reports_a_bad_schedule_in_one_line(tmp_path,
                                                                 capsys):
    text = (REPO / "config" / "schedule.yaml").read_text().replace(
        "randomized_delay: 5min", "randomised_delay: 5min")
    config = write_config(tmp_path, text)

    assert main(["--config-dir", str(config), "render", "units"]) == 2

    error = capsys.readouterr().err.strip()
    assert "schedule.yaml:" in error
    assert "randomised_delay" in error
    assert "Traceback" not in error


@pytest.mark.skipif(not HAS_SYSTEMD_ANALYZE, reason="needs systemd-analyze")
def test_render_units_command_refuses_what_systemd_refuses(tmp_path, capsys):
    text = (REPO / "config" / "schedule.yaml").read_text().replace(
        '"*-*-* 09:00:00"', '"*-*-* 09:61:00"')
    config = write_config(tmp_path, text)

    assert main(["--config-dir", str(config), "render", "units"]) == 2

    error = capsys.readouterr().err.strip()
    assert "agents.orchestrator" in error and "09:61" in error


def test_render_env_command_prints_the_env(tmp_path, capsys):
    source = tmp_path / "values.yaml"
    source.write_text('DRY_RUN: true\nGREETING: "hi $USER # x"\n')

    assert main(["render", "env", str(source)]) == 0

    assert parse_env_text(capsys.readouterr().out) == {
        "DRY_RUN": "true", "GREETING": "hi $USER # x"}


def test_render_env_command_refuses_a_nested_value(tmp_path, capsys):
    source = tmp_path / "values.json"
    source.write_text('{"LIST": [1, 2]}')

    assert main(["render", "env", str(source)]) == 2

    assert "LIST" in capsys.readouterr().err
