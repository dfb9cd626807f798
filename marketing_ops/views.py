"""Commands that read or flip operator state: status, events, pause,
resume, log.  They touch the ledger and files only; no network, no heavy
imports."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from marketing_ops.config.settings import load_settings
from marketing_ops.errors import ConfigError
from marketing_ops.moltbook import open_ledger, operator_name


def settings_from(args):
    return load_settings(args.config_dir, args.state_dir)


# -- pause / resume / log -------------------------------------------------

def command_pause(args) -> int:
    from marketing_ops.safety.killswitch import pause

    settings = settings_from(args)
    with open_ledger(settings, agent="operator") as ledger:
        created, fields = pause(settings, args.reason, operator_name(),
                                ledger)
    if created:
        print(f"Publishing paused: {fields['reason']}")
        print(f"  ({settings.stop_file}; undo with: marketing-ops resume)")
    else:
        print(f"Publishing was already paused since "
              f"{fields.get('paused_at', '?')} by "
              f"{fields.get('paused_by', '?')}: {fields.get('reason', '?')}")
        print("  Kept that first reason; your request was logged.")
    return 0


def command_resume(args) -> int:
    from marketing_ops.safety.killswitch import resume

    settings = settings_from(args)
    with open_ledger(settings, agent="operator") as ledger:
        removed = resume(settings, operator_name(), ledger)
    if removed:
        print("Publishing resumed.")
        if not settings.publish_enabled:
            print("  Note: PUBLISH_ENABLED is still false in the .env, so "
                  "nothing will be published until it is true.")
    else:
        print("Publishing was not paused; nothing to do.")
    return 0


def command_log(args) -> int:
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", args.action):
        raise ConfigError(f"{args.action!r}: an action is written in "
                          "CAPITALS_WITH_UNDERSCORES, e.g. SCHEDULE_ENABLED")
    settings = settings_from(args)
    with open_ledger(settings, agent="operator") as ledger:
        ledger.record(action=args.action, status=args.status,
                      message=f"{operator_name()}: {args.message}")
    return 0


def command_resolve(args) -> int:
    """``marketing-ops resolve SUBJECT PLATFORM --posted URL|--not-posted``:
    a person's answer to an unknown outcome."""
    from marketing_ops.safety.budget import latest_attempt

    settings = settings_from(args)
    if not settings.ledger_path.exists():
        raise ConfigError("the ledger has no runs yet; nothing to resolve")
    who = operator_name()
    with open_ledger(settings, agent="operator") as ledger:
        intent = None
        for kind in ("post", "reply"):
            attempt, outcome = latest_attempt(ledger.conn, args.platform,
                                              args.subject, kind)
            if outcome == "unknown":
                intent = attempt
        if intent is None:
            raise ConfigError(
                f"{args.subject} on {args.platform} has no unknown outcome "
                "to resolve; see marketing-ops drafts")
        if args.posted:
            ledger.record(action="RECONCILED", status="success",
                          platform=args.platform, draft=args.subject,
                          permalink=args.posted,
                          details={"intent_id": intent["id"]},
                          message=f"{who} checked by hand: it went out")
            print(f"Recorded: {args.subject} is on {args.platform} "
                  f"({args.posted}); it will not be posted again.")
        else:
            ledger.record(action="RECONCILED", status="failed",
                          platform=args.platform, draft=args.subject,
                          details={"intent_id": intent["id"]},
                          message=f"{who} checked by hand: it did not go "
                                  "out; the next run may try again")
            print(f"Recorded: {args.subject} did not go out on "
                  f"{args.platform}; the next run will try again.")
    return 0


# -- events ---------------------------------------------------------------

def parse_since(text: str | None) -> str | None:
    """``24h``, ``7d``, ``30m`` or an ISO date/time -> ISO UTC string."""
    if not text:
        return None
    relative = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount),
                 "d": timedelta(days=amount)}[unit]
        moment = datetime.now(timezone.utc) - delta
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--since {text!r}: use e.g. 24h, 7d or "
                              "2026-12-01T09:00") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def command_events(args) -> int:
    settings = settings_from(args)
    if not settings.ledger_path.exists():
        print("No events yet (the ledger is created by the first run).")
        return 0
    with open_ledger(settings) as ledger:
        if args.view == "stats":
            print_stats(ledger.stats(), as_json=args.json)
            return 0
        events = ledger.query(
            since=parse_since(args.since), agent=args.agent,
            platform=args.platform, event_type=args.event_type,
            status=args.status, action=args.action, draft=args.draft,
            limit=args.limit, newest_first=args.limit is not None)
    if args.limit is not None:
        events.reverse()
    for event in events:
        if args.json:
            print(json.dumps(event, sort_keys=True))
        else:
            print(format_event(event))
    return 0


def format_event(event: dict) -> str:
    where = "/".join(p for p in (event["platform"], event["draft"]) if p)
    parts = [event["ts"][:19].replace("T", " "), event["agent"],
             event["action"], event["status"]]
    if where:
        parts.append(where)
    if event["reason_code"]:
        parts.append(event["reason_code"])
    line = "  ".join(parts)
    if event["message"]:
        line += f"  {event['message']}"
    if event["permalink"]:
        line += f"  {event['permalink']}"
    return line


def print_stats(stats: dict, as_json: bool = False) -> None:
    if as_json:
        print(json.dumps(stats, sort_keys=True))
        return
    print(f"Total events: {stats['total']}")
    # One column width for both tables, from the largest possible count.
    width = len(str(stats["total"]))
    for title, key in (("By event_type", "by_event_type"),
                       ("By status", "by_status")):
        print()
        print(f"{title}:")
        for name, count in stats[key].items():
            print(f"  {count:>{width}} {name}")


# -- status ---------------------------------------------------------------

def command_status(args) -> int:
    from marketing_ops.safety.killswitch import read_stop_file, stop_reason

    settings = settings_from(args)
    print("Kill switches:")
    if settings.stop_file.exists():
        fields = read_stop_file(settings)
        print(f"  STOP_ALL         present: {fields.get('reason', '?')} "
              f"(by {fields.get('paused_by', '?')} at "
              f"{fields.get('paused_at', '?')})")
    else:
        print("  STOP_ALL         absent")
    print(f"  PUBLISH_ENABLED  {str(settings.publish_enabled).lower()}")
    print(f"  DRY_RUN          {str(settings.dry_run).lower()}")
    reason = stop_reason(settings)
    print(f"  => publishing is {'STOPPED (' + reason + ')' if reason else 'allowed'}")

    from marketing_ops.safety import budget, circuit
    from marketing_ops import systemd

    for section in (circuit.print_status, budget.print_status,
                    systemd.print_status):
        print()
        section(settings)
    return 0
