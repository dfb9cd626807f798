"""Budgets, and the claim that turns "may we post this?" into a recorded
intent in one step.

A budget is counted from the ledger, never from memory, so re-running a
service cannot exceed it.  Checking what is left and recording the intent
happen in one write transaction (see ``Moltbook.immediate``), so two agents
running at once cannot both take the last unit, and two runs cannot both
claim the same draft for the same platform.

Every intent's final outcome is written once, as a result event whose
``dedupe_key`` is ``result:<intent id>``; the database's unique index makes
a second outcome for the same intent impossible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

#: Intent and result actions per kind of message.
INTENT_ACTION = {"post": "PUBLISH_INTENT", "reply": "REPLY_INTENT"}
RESULT_ACTION = {"post": "PLATFORM_RESULT", "reply": "REPLY_RESULT"}
#: A connector's outcome as the status its result event carries.
LEDGER_STATUS = {"published": "success", "failed": "failed",
                 "unknown": "unknown"}


@dataclass(frozen=True)
class Claim:
    """Permission to make exactly one publishing call."""
    intent_id: int
    attempt: int
    used: int           # budget used before this claim
    limit: int


@dataclass(frozen=True)
class Refusal:
    """Why no call may be made: ``stopped`` (kill switch), ``budget``,
    ``pending`` (an earlier attempt has no outcome yet), ``done``
    (published already, or its outcome is unknown)."""
    reason: str
    detail: str


def window_start(now: datetime, tz_name: str = "Europe/Berlin",
                 window: str = "day") -> datetime:
    """The start of the budget window that contains ``now``: the calendar
    day in the schedule's time zone, or the last 24 hours."""
    if window == "24h":
        return now - timedelta(hours=24)
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(tz_name))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(timezone.utc)


def window_since(schedule: dict | None, now: datetime) -> str:
    """The start of the current budget window, as the ledger's time text,
    from ``schedule.yaml``'s time zone and ``budget_window``."""
    schedule = schedule or {}
    return iso(window_start(now, schedule.get("timezone", "Europe/Berlin"),
                            schedule.get("budget_window", "day")))


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def budget_used(conn, platform: str, kind: str, since: str) -> int:
    """Live intents of this kind on this platform since ``since`` whose
    call was not provably refused by the platform.  An intent whose outcome
    is unknown counts: it may well have been posted.

    Counted as "intents in the window" minus "those whose result is
    failed", two index range scans.  Checking each intent's result one by
    one made every check cost O(intents in the window), and a run over a
    long queue with a large budget O(n^2).  A failed result is always
    recorded after its intent, so looking for failures from ``since`` on
    finds them all; were the clock ever to step back, one would be missed
    and the budget counted too high, never too low."""
    intents = conn.execute(
        "SELECT count(*) FROM events "
        "WHERE platform = ? AND action = ? AND ts >= ?",
        (platform, INTENT_ACTION[kind], since)).fetchone()[0]
    refused = conn.execute(
        "SELECT count(*) FROM events r JOIN events i "
        "  ON i.id = CAST(substr(r.dedupe_key, 8) AS INTEGER) "
        "WHERE r.platform = ? AND r.action = ? AND r.status = 'failed' "
        "AND r.ts >= ? AND r.dedupe_key LIKE 'result:%' "
        "AND i.platform = ? AND i.action = ? AND i.ts >= ?",
        (platform, RESULT_ACTION[kind], since,
         platform, INTENT_ACTION[kind], since)).fetchone()[0]
    # Unknown outcomes a person has since found did not go out (rare).
    not_posted = conn.execute(
        "SELECT count(*) FROM events r JOIN events i "
        "  ON i.id = json_extract(r.details, '$.intent_id') "
        "WHERE r.platform = ? AND r.action = 'RECONCILED' "
        "AND r.status = 'failed' AND r.ts >= ? "
        "AND i.action = ? AND i.ts >= ?",
        (platform, since, INTENT_ACTION[kind], since)).fetchone()[0]
    return intents - refused - not_posted


def latest_attempt(conn, platform: str, subject: str, kind: str
                   ) -> tuple[dict[str, Any] | None, str | None]:
    """The newest intent for ``subject`` on ``platform`` and the status of
    its outcome (None while it has none)."""
    row = conn.execute(
        "SELECT id, run_id, ts, details FROM events "
        "WHERE draft = ? AND platform = ? AND action = ? "
        "ORDER BY id DESC LIMIT 1",
        (subject, platform, INTENT_ACTION[kind])).fetchone()
    if row is None:
        return None, None
    result = conn.execute(
        "SELECT id, status FROM events WHERE dedupe_key = ?",
        (f"result:{row['id']}",)).fetchone()
    if result is None:
        return dict(row), None
    if result["status"] != "unknown":
        return dict(row), result["status"]

    # An unknown outcome stays unknown until a person has looked
    # (``marketing-ops resolve``): "it went out" settles it as success,
    # "it did not" as failed, which lets the next run try again.
    verdict = conn.execute(
        "SELECT status FROM events WHERE draft = ? AND platform = ? "
        "AND action = 'RECONCILED' AND id > ? ORDER BY id DESC LIMIT 1",
        (subject, platform, result["id"])).fetchone()
    return dict(row), (verdict["status"] if verdict else "unknown")


def claim(ledger, *, platform: str, subject: str, kind: str, limit: int,
          since: str, stop_check=None, details: dict | None = None,
          message: str = "") -> Claim | Refusal:
    """Record the intent to publish ``subject`` on ``platform`` if, at this
    instant and under the ledger's write lock, nothing forbids it.

    ``stop_check`` is called inside the transaction and returns a reason
    when a kill switch is on, so a pause recorded before this claim is
    always seen, and one recorded after it comes after the intent in the
    ledger."""
    import json

    with ledger.immediate() as conn:
        if stop_check is not None:
            reason = stop_check()
            if reason:
                return Refusal("stopped", reason)

        previous, outcome = latest_attempt(conn, platform, subject, kind)
        attempt = 1
        if previous is not None:
            if outcome is None:
                return Refusal("pending", "an earlier attempt has no "
                               "recorded outcome yet")
            if outcome != "failed":
                return Refusal("done", f"already {outcome}")
            attempt = json.loads(previous["details"] or "{}").get(
                "attempt", 1) + 1

        used = budget_used(conn, platform, kind, since)
        if used >= limit:
            return Refusal("budget", f"budget used: {used} of {limit} "
                                     f"{kind}s in this window")

        intent_id = ledger.record(
            conn=conn, action=INTENT_ACTION[kind], status="pending",
            platform=platform, draft=subject, message=message,
            details={**(details or {}), "attempt": attempt, "kind": kind},
            dedupe_key=f"intent:{kind}:{platform}:{subject}:{attempt}")
    return Claim(intent_id=intent_id, attempt=attempt, used=used, limit=limit)


def record_outcome(ledger, claim_: Claim, *, kind: str, platform: str,
                   subject: str, status: str, message: str,
                   reason_code: str | None = None,
                   permalink: str | None = None,
                   details: dict | None = None) -> bool:
    """Write the one outcome of a claim.  Returns False when an outcome was
    already there (a reconciliation got to it first)."""
    import sqlite3

    try:
        ledger.record(action=RESULT_ACTION[kind], status=status,
                      platform=platform, draft=subject, message=message,
                      reason_code=reason_code, permalink=permalink,
                      details={**(details or {}),
                               "intent_id": claim_.intent_id},
                      dedupe_key=f"result:{claim_.intent_id}")
    except sqlite3.IntegrityError:
        return False
    return True


def print_status(settings) -> None:
    """Budget left today per platform, for ``marketing-ops status``."""
    from marketing_ops import PLATFORMS
    from marketing_ops.moltbook import open_ledger

    tz_name, window = _schedule_window(settings)
    since = iso(window_start(datetime.now(timezone.utc), tz_name, window))
    print(f"Budgets left (window: {window}, {tz_name}):")
    if not settings.ledger_path.exists():
        print("  no runs yet: full budgets")
        return
    with open_ledger(settings) as ledger:
        for platform in PLATFORMS:
            if platform == "hn":
                continue
            posts = budget_used(ledger.conn, platform, "post", since)
            replies = budget_used(ledger.conn, platform, "reply", since)
            print(f"  {platform:<9} posts "
                  f"{max(settings.max_live_posts_per_platform - posts, 0)}/"
                  f"{settings.max_live_posts_per_platform}  replies "
                  f"{max(settings.max_live_replies_per_platform - replies, 0)}"
                  f"/{settings.max_live_replies_per_platform}")


def _schedule_window(settings) -> tuple[str, str]:
    """Time zone and window from schedule.yaml, read without schema
    validation (status must stay quick); ``validate`` checks the file."""
    path = settings.config_dir / "schedule.yaml"
    try:
        import yaml
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return (str(data.get("timezone", "Europe/Berlin")),
                str(data.get("budget_window", "day")))
    except Exception:   # status is a view: fall back, validate will tell
        return "Europe/Berlin", "day"
