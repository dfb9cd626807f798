"""Render the systemd units and the ``.env`` from ``templates/``.

The Ansible role renders the very same template files with its template
module, so there is one definition of each unit.  To make both produce the
same bytes, the Jinja environment here uses Ansible's template defaults
(``trim_blocks``, keep the final newline) and the templates use only
built-in Jinja filters.  Template variables carry the role's prefix
(``marketing_ops_agent``, ``marketing_ops_install_dir`` ...) so that the role
can pass its own variables straight through.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from marketing_ops.errors import ConfigError

logger = logging.getLogger(__name__)

SCHEDULED_AGENTS = ("orchestrator", "community", "partnerships")

SERVICE_TEMPLATE = "systemd/marketing-agent.service.j2"
TIMER_TEMPLATE = "systemd/marketing-agent.timer.j2"
ENV_TEMPLATE = "env/dotenv.j2"

DEFAULT_INSTALL_DIR = "/opt/marketing-ops"
DEFAULT_STATE_DIR = "/var/lib/marketing-ops"
DEFAULT_USER = "marketing-ops"


def render_units(schedule: Mapping[str, Any], *,
                 install_dir: str = DEFAULT_INSTALL_DIR,
                 state_dir: str = DEFAULT_STATE_DIR,
                 user: str = DEFAULT_USER) -> dict[str, str]:
    """Every agent's ``.service`` and ``.timer``, as file name -> text.

    ``schedule`` is the parsed, validated ``config/schedule.yaml``.
    """
    environment = _jinja_environment()
    service = environment.get_template(SERVICE_TEMPLATE)
    timer = environment.get_template(TIMER_TEMPLATE)

    units = {}
    for agent in SCHEDULED_AGENTS:
        variables = {
            "marketing_ops_agent": agent,
            "marketing_ops_schedule": schedule,
            "marketing_ops_install_dir": install_dir,
            "marketing_ops_state_dir": state_dir,
            "marketing_ops_user": user,
        }
        units[f"marketing-{agent}.service"] = service.render(variables)
        units[f"marketing-{agent}.timer"] = timer.render(variables)
    return units


def render_env(values: Mapping[str, Any]) -> str:
    """The ``.env`` text for ``values`` (name -> str/int/bool/None).

    The rendered text is parsed back with the package's own reader before it
    is returned, so a value that systemd and the package would read
    differently (a control character, say) is refused here, by name,
    instead of being written.
    """
    from marketing_ops.config.envfile import parse_env_text

    for name in values:
        _check_env_name(name)
    text = _jinja_environment().get_template(ENV_TEMPLATE).render(
        marketing_ops_env=dict(values))

    try:
        parsed = parse_env_text(text, "<rendered .env>")
    except ConfigError as exc:
        raise ConfigError(f"cannot write this value into a .env: "
                          f"{exc.message}") from None
    for name, value in values.items():
        if parsed.get(name) != _env_string(value):
            raise ConfigError(
                f"{name}: the value would not read back unchanged from a "
                ".env (it contains a control character?); remove it")
    return text


def check_calendar(expression: str) -> None:
    """Raise :class:`ConfigError` unless systemd accepts ``expression``.

    Where ``systemd-analyze`` is missing (a laptop, a container without
    systemd) nothing is checked here; the schema's pattern still applies and
    the Ansible role checks again on the server.
    """
    _run_systemd_analyze("calendar", expression, "calendar expression")


def check_timespan(span: str) -> None:
    """Raise :class:`ConfigError` unless systemd accepts ``span``."""
    _run_systemd_analyze("timespan", span, "time span")


def check_schedule(schedule: Mapping[str, Any]) -> None:
    """Every expression of a parsed schedule, checked by systemd."""
    zone = schedule["timezone"]
    for agent in SCHEDULED_AGENTS:
        entry = schedule["agents"][agent]
        try:
            check_calendar(f"{entry['on_calendar']} {zone}")
            check_timespan(str(entry.get("randomized_delay", "0")))
        except ConfigError as exc:
            raise ConfigError(f"agents.{agent}: {exc.message}") from None


def load_schedule(config_dir: Path) -> dict[str, Any]:
    """``config_dir/schedule.yaml``, validated against its schema."""
    from marketing_ops.config.yamlfile import load_yaml

    return load_yaml(Path(config_dir) / "schedule.yaml", "schedule")


def command_render(args) -> int:
    """``marketing-ops render units [--output-dir DIR]`` and
    ``marketing-ops render env FILE``."""
    if args.what == "env":
        return _command_render_env(args)
    return _command_render_units(args)


def _command_render_units(args) -> int:
    from marketing_ops.config.settings import load_settings

    if args.source:
        raise ConfigError("render units takes no file argument; it reads "
                          "schedule.yaml from the configuration folder")
    settings = load_settings(args.config_dir, args.state_dir)
    schedule_path = settings.config_dir / "schedule.yaml"
    schedule = load_schedule(settings.config_dir)
    try:
        check_schedule(schedule)
    except ConfigError as exc:
        raise ConfigError(exc.message, schedule_path) from None

    units = render_units(schedule, state_dir=str(settings.state_dir))
    if not args.output_dir:
        for name, text in units.items():
            sys.stdout.write(f"### {name}\n{text}\n")
        return 0

    output_dir = Path(args.output_dir)
    for name, text in units.items():
        if _write_if_changed(output_dir / name, text):
            logger.info("wrote %s", output_dir / name)
    return 0


def _command_render_env(args) -> int:
    if not args.source:
        raise ConfigError("render env needs a YAML or JSON file with a "
                          "mapping of NAME: value; e.g. "
                          "marketing-ops render env values.yaml")
    values = _read_mapping(Path(args.source))
    text = render_env(values)
    if args.output_dir:
        target = Path(args.output_dir) / ".env"
        if _write_if_changed(target, text, mode=0o600):
            logger.info("wrote %s", target)
    else:
        sys.stdout.write(text)
    return 0


def _read_mapping(path: Path) -> dict[str, Any]:
    # JSON is a subset of YAML, so one reader serves both.
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read ({exc.strerror})", path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            f"not valid YAML/JSON: {getattr(exc, 'problem', exc)}", path,
            mark.line + 1 if mark else None) from None

    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of NAME: value at the top "
                          "level", path)
    for name, value in data.items():
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{name}: a .env value must be a string, "
                              "number or boolean, not a list or mapping",
                              path)
    return data


def _write_if_changed(target: Path, text: str, mode: int = 0o644) -> bool:
    # Leaving unchanged files alone keeps their mtime, so `systemctl
    # daemon-reload` and tools that watch the files see only real changes.
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot read ({exc.strerror})", target) from None

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        partial.chmod(mode)
        partial.replace(target)
    except OSError as exc:
        raise ConfigError(f"cannot write ({exc.strerror}); run as a user "
                          "that may write there", target) from None
    return True


def _jinja_environment():
    import jinja2

    from marketing_ops.resources import templates_dir

    # The same settings as Ansible's template module, so both renderings of
    # a template are byte-for-byte equal.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        trim_blocks=True,
        lstrip_blocks=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def _check_env_name(name: Any) -> None:
    if not isinstance(name, str) or not re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ConfigError(f"{name!r} is not a valid variable name (letters, "
                          "digits and '_', not starting with a digit)")


def _env_string(value: Any) -> str:
    # Mirrors the template's macro: how a YAML value becomes text.
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _run_systemd_analyze(verb: str, argument: str, what: str) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        logger.debug("systemd-analyze not found; %s %r not checked",
                     what, argument)
        return

    try:
        result = subprocess.run([tool, verb, argument], capture_output=True,
                                text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("could not run systemd-analyze to check %s %r: %s",
                       what, argument, exc)
        return
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["rejected"])[-1]
        raise ConfigError(f"systemd rejects the {what} {argument!r}: "
                          f"{reason}")
