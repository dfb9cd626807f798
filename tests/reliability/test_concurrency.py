"""Concurrency, reduced sample: the orchestrator, the community agent and
a manual ``run distribution`` started together as processes against one
state folder (the full series is ``python scripts/concurrency.py
--trials 50``)."""

from __future__ import annotations

import pytest

from scripts.concurrency import POST_BUDGET, REPLY_BUDGET, run_series

pytestmark = pytest.mark.slow


def test_three_agents_at_once_keep_budgets_and_the_ledger_whole():
    results, _ = run_series(trials=4, seed=20240601)

    for trial in results:
        assert trial.failures == [], trial.failures
        assert set(trial.posts.values()) == {POST_BUDGET}
        assert max(trial.replies.values()) <= REPLY_BUDGET
        assert trial.duplicates == 0
        assert trial.integrity == "ok"
        assert set(trial.exit_codes.values()) <= {0, 1}
