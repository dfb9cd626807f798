"""Reconcile intents that a crashed run left without an outcome.

An intent with no outcome means the process died somewhere between
recording "about to publish" and recording what happened.  The post may or
may not have gone out.  Posting again could post twice, so this module never
does: it asks the platform where the platform can tell (a hidden marker in
the post, the account's recent posts), and otherwise records the outcome as
unknown for a human to check.  Intents whose run is still alive (it holds
its run lock) are in flight, not dangling, and are left alone.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from marketing_ops.runlock import run_is_alive
from marketing_ops.safety import budget

logger = logging.getLogger(__name__)


def dangling_intents(ledger) -> list[dict]:
    rows = ledger.conn.execute(
        "SELECT * FROM events i "
        "WHERE i.action IN ('PUBLISH_INTENT', 'REPLY_INTENT') "
        "AND NOT EXISTS (SELECT 1 FROM events r "
        "                WHERE r.dedupe_key = 'result:' || i.id) "
        "ORDER BY i.id").fetchall()
    return [dict(row) for row in rows]


def reconcile(settings, config, ledger, connector_for) -> list:
    """Settle every dangling intent; return what was found, as
    :class:`PostResult` rows for the run summary."""
    from marketing_ops.agents.distribution import PostResult
    from marketing_ops.platforms.base import Unsupported

    settled = []
    for intent in dangling_intents(ledger):
        if intent["run_id"] == ledger.run_id or run_is_alive(
                settings.state_dir, intent["run_id"]):
            continue
        details = json.loads(intent["details"] or "{}")
        kind = details.get("kind", "post")
        platform, subject = intent["platform"], intent["draft"]
        claim = budget.Claim(intent_id=intent["id"],
                             attempt=details.get("attempt", 1), used=0,
                             limit=0)
        since = datetime.fromisoformat(intent["ts"].replace("Z", "+00:00"))

        found, why = None, ""
        try:
            found = connector_for(platform).find_published(
                details.get("marker", ""), since, text=details.get("text"))
            if found is None:
                why = ("not found on the platform, but a post may appear "
                       "late or be hidden from the search")
        except Unsupported as exc:
            why = str(exc)
        except Exception as exc:   # the platform could not be asked now
            logger.warning("%s: could not reconcile %s: %s", platform,
                           subject, exc)
            continue               # try again next run; stays dangling

        if found is not None and found.status == "published":
            status, message = "success", (
                f"found on {platform} after an interrupted run")
            permalink = found.permalink
        else:
            status, permalink = "unknown", None
            message = (f"interrupted run: cannot tell whether {subject} "
                       f"went out on {platform} ({why}); it will not be "
                       "posted again automatically — check by hand")
        ledger.record(action="RECONCILED", status=status,
                      platform=platform, draft=subject, message=message,
                      permalink=permalink,
                      details={"intent_id": intent["id"]})
        budget.record_outcome(
            ledger, claim, kind=kind, platform=platform, subject=subject,
            status=status, message=message, permalink=permalink,
            reason_code=None if status == "success" else "OUTCOME_UNKNOWN",
            details={"reconciled": True})
        settled.append(PostResult(subject, platform,
                                  "published" if status == "success"
                                  else "unknown", message,
                                  permalink=permalink))
    return settled
