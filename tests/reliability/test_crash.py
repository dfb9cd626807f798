"""Crash consistency, reduced sample: SIGKILL the publisher mid-run at
seeded random moments and at points read from the ledger, rerun until the
queue settles, and count from the sandbox's record (the full series is
``python scripts/crash_harness.py --trials 200``)."""

from __future__ import annotations

import pytest

from scripts.crash_harness import run_series
from scripts.harness import audit, draft_id

pytestmark = pytest.mark.slow


def test_sigkill_mid_run_never_posts_twice_or_loses_a_draft():
    totals, _ = run_series(trials=15, seed=20240601, drafts=2)

    assert totals.kills >= 15
    assert totals.audit.expected == 15 * 2 * 5
    assert totals.audit.duplicates == 0
    assert totals.audit.lost == 0
    assert totals.failures == []
    # Every draft × platform ended published or reported unknown.
    assert totals.audit.published + totals.audit.unknown == \
        totals.audit.expected


def test_the_audit_sees_duplicates_and_silent_losses(tmp_path):
    """The counting itself can fail: two copies of one post are a
    duplicate, and a draft with neither a post nor an outcome is lost."""
    from marketing_ops.moltbook import Moltbook

    ledger_path = tmp_path / "moltbook.db"
    with Moltbook(ledger_path) as ledger:
        intent = ledger.record(action="PUBLISH_INTENT", status="pending",
                               platform="x", draft=draft_id(1))
        ledger.record(action="PLATFORM_RESULT", status="success",
                      platform="x", draft=draft_id(1),
                      dedupe_key=f"result:{intent}")
    copy = {"platform": "x", "kind": "post", "title": None,
            "text": f"Note {draft_id(1)}: what changed"}

    checked = audit([(draft_id(1), "x"), (draft_id(2), "x")],
                    [copy, dict(copy)], ledger_path, settled=True)

    assert checked.duplicates == 1
    assert checked.lost == 1          # draft 2: no post, no outcome
    assert checked.published == 1
