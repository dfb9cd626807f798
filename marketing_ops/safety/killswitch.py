"""The kill switches: the ``STOP_ALL`` file and ``PUBLISH_ENABLED``.

Both are checked at the start of a run and again immediately before every
single post, so a pause during a run takes effect before the next post.
The file is the operator's switch (``marketing-ops pause``); the flag is the
configuration's.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from marketing_ops.errors import MarketingOpsError


def stop_reason(settings) -> str | None:
    """Why publishing is stopped right now, or None when it may go on.

    Any ``STOP_ALL`` file counts, even an empty or unreadable one: when in
    doubt, stay stopped."""
    stop_file = settings.stop_file
    if os.path.lexists(stop_file):
        details = read_stop_file(settings)
        reason = details.get("reason") or "no reason given"
        return f"paused by {stop_file.name}: {reason}"
    if not settings.publish_enabled:
        return "PUBLISH_ENABLED is false"
    return None


def read_stop_file(settings) -> dict[str, str]:
    """The fields of the ``STOP_ALL`` file (reason, paused_by, paused_at)."""
    try:
        text = settings.stop_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return {"reason": f"(STOP_ALL is unreadable: {exc.strerror})"}
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def pause(settings, reason: str, who: str, ledger) -> tuple[bool, dict]:
    """Create ``STOP_ALL``.  Returns ``(created, fields)``; when publishing
    was already paused the first reason is kept and ``created`` is False."""
    reason = " ".join(reason.split())
    if not reason:
        raise MarketingOpsError("give a reason, e.g. marketing-ops pause "
                                "\"wrong link in the release post\"")
    # The file is created inside a ledger write transaction, and every run
    # checks it inside the transaction that records its publish intent.
    # So the ledger orders the two strictly: an intent recorded after the
    # PUBLISHING_PAUSED event cannot exist.
    with ledger.immediate() as conn:
        if settings.stop_file.exists():
            existing = read_stop_file(settings)
            ledger.record(
                action="PUBLISHING_PAUSED", status="skipped", conn=conn,
                message=f"already paused; kept the first reason "
                        f"({existing.get('reason', '?')}); new request by "
                        f"{who}: {reason}",
                details={"requested_by": who, "reason": reason})
            return False, existing

        fields = {
            "reason": reason,
            "paused_by": who,
            "paused_at": datetime.now(timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
        }
        text = "".join(f"{key}: {value}\n" for key, value in fields.items())
        _write_exclusive(settings.stop_file, text)
        ledger.record(action="PUBLISHING_PAUSED", status="success",
                      conn=conn, details=fields,
                      message=f"publishing paused by {who}: {reason}")
    return True, fields


def resume(settings, who: str, ledger) -> bool:
    """Remove ``STOP_ALL``.  Returns False when it was not there."""
    try:
        previous = read_stop_file(settings)
        settings.stop_file.unlink()
    except FileNotFoundError:
        ledger.record(action="PUBLISHING_RESUMED", status="skipped",
                      message=f"{who} resumed, but publishing was not paused")
        return False
    ledger.record(action="PUBLISHING_RESUMED", status="success",
                  message=f"publishing resumed by {who}",
                  details={"resumed_by": who,
                           "was_paused_for": previous.get("reason")})
    return True


def _write_exclusive(path, text: str) -> None:
    """Create the file atomically (a reader never sees it half-written) and
    never overwrite one that appeared meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    try:
        os.link(temporary, path)      # fails if STOP_ALL exists already
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
