"""The ``marketing-ops`` command line: argument parsing only.

Each command names one function, imported only when that command runs, so
``--help``, ``status`` and ``events`` start without loading requests, jinja2
or jsonschema.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from marketing_ops import __version__
from marketing_ops.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, \
    MarketingOpsError
from marketing_ops.redact import RedactingFilter, redact_known

AGENTS = ("orchestrator", "distribution", "community", "partnerships")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marketing-ops",
        description="An unattended publisher that checks everything before "
                    "it posts.")
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    parser.add_argument("--config-dir", metavar="DIR",
                        help="configuration folder (default: "
                             "$MARKETING_OPS_CONFIG_DIR or "
                             "/opt/marketing-ops/config)")
    parser.add_argument("--state-dir", metavar="DIR",
                        help="state folder: ledger, breakers, reports "
                             "(default: $MARKETING_OPS_STATE_DIR or "
                             "/var/lib/marketing-ops)")
    parser.add_argument("--debug", action="store_true",
                        help="log details and show tracebacks of bugs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, target, help_text):
        sub = commands.add_parser(name, help=help_text,
                                  description=help_text)
        sub.set_defaults(target=target)
        return sub

    command("validate", "marketing_ops.config:command_validate",
            "check the .env, every YAML file and every draft")
    command("status", "marketing_ops.views:command_status",
            "kill switches, circuit breakers, budgets left, next runs")

    events = command("events", "marketing_ops.views:command_events",
                     "list events from the Moltbook ledger")
    events.add_argument("view", nargs="?", choices=["list", "stats"],
                        default="list", help="'stats' prints totals")
    events.add_argument("--since", help="ISO time or e.g. 24h, 7d")
    events.add_argument("--agent")
    events.add_argument("--platform")
    events.add_argument("--type", dest="event_type")
    events.add_argument("--status")
    events.add_argument("--action")
    events.add_argument("--draft")
    events.add_argument("--limit", type=int, default=None)
    events.add_argument("--json", action="store_true",
                        help="one JSON object per line")

    pause = command("pause", "marketing_ops.views:command_pause",
                    "stop all publishing now (creates config/STOP_ALL)")
    pause.add_argument("reason", help="why, in a few words")
    command("resume", "marketing_ops.views:command_resume",
            "allow publishing again (removes config/STOP_ALL)")

    log = command("log", "marketing_ops.views:command_log",
                  "record an operator action in the ledger")
    log.add_argument("action", help="e.g. SCHEDULE_ENABLED")
    log.add_argument("message")
    log.add_argument("--status", default="success")

    preflight = command("preflight", "marketing_ops.agents.preflight:command",
                        "check every platform's credentials, concurrently")
    preflight.add_argument("--json", action="store_true")

    circuit = command("circuit", "marketing_ops.safety.circuit:command",
                      "list or reset circuit breakers")
    circuit.add_argument("action", choices=["list", "reset"])
    circuit.add_argument("platform", nargs="?")

    command("drafts", "marketing_ops.drafts:command_drafts",
            "list drafts and their state per platform")
    resolve = command("resolve", "marketing_ops.views:command_resolve",
                      "after checking the platform by hand, settle a post "
                      "or reply whose outcome is unknown")
    resolve.add_argument("subject", help="draft id (or mention:PLATFORM:ID)")
    resolve.add_argument("platform")
    answer = resolve.add_mutually_exclusive_group(required=True)
    answer.add_argument("--posted", metavar="URL",
                        help="it went out: its permalink")
    answer.add_argument("--not-posted", action="store_true",
                        help="it did not go out: let the next run try again")
    plan = command("plan", "marketing_ops.agents.distribution:command_plan",
                   "show what the next run would do; changes nothing")
    plan.add_argument("--json", action="store_true")

    policy = command("policy", "marketing_ops.safety.policy:command",
                     "check a draft against the policy, or run the "
                     "policy's examples")
    policy.add_argument("action", choices=["check", "test"])
    policy.add_argument("draft", nargs="?", help="draft id or file")

    run = command("run", "marketing_ops.agents:command_run",
                  "run one agent now")
    run.add_argument("agent", choices=AGENTS)
    run.add_argument("--dry-run", action="store_true",
                     help="do everything except the publishing call")

    demo = command("demo", "marketing_ops.demo:command_demo",
                   "rehearse a whole run against the local sandbox")
    demo.add_argument("--keep", metavar="DIR",
                      help="keep the demo's configuration and state in DIR")

    sandbox = command("sandbox", "marketing_ops.demo:command_sandbox",
                      "run the local stand-in for the platform APIs")
    sandbox.add_argument("action", choices=["serve"])
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--latency", type=float, default=0.0,
                         help="seconds added to every response")

    render = command("render", "marketing_ops.render:command_render",
                     "render systemd units or the .env from templates")
    render.add_argument("what", choices=["units", "env"])
    render.add_argument("source", nargs="?",
                        help="for env: a YAML mapping of variables")
    render.add_argument("--output-dir", metavar="DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "target", None):
        parser.print_help()
        return EXIT_BAD_INPUT

    _configure_logging(args.debug)
    module_name, function_name = args.target.split(":")
    try:
        function = getattr(importlib.import_module(module_name),
                           function_name)
        return function(args) or 0
    except MarketingOpsError as exc:
        print(f"marketing-ops: {redact_known(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("marketing-ops: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug, not bad input
        if args.debug:
            raise
        detail = redact_known(f"{type(exc).__name__}: {exc}")
        print(f"marketing-ops: internal error: {detail} "
              "(run with --debug for the traceback, and please report it)",
              file=sys.stderr)
        return EXIT_INTERNAL


def _configure_logging(debug: bool) -> None:
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: "
                                           "%(message)s"))
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO,
                        handlers=[handler])
    # urllib3 logs full URLs at DEBUG; the filter masks them, but they are
    # noise even then.
    logging.getLogger("urllib3").setLevel(logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
