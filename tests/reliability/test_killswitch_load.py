"""The kill switch under load, smaller queue: bin/pause-publishing.sh
while a run is publishing (the full run is ``python
scripts/killswitch_load.py --trials 5 --drafts 40``)."""

from __future__ import annotations

import pytest

from scripts.killswitch_load import run_series

pytestmark = pytest.mark.slow


def test_pause_during_a_run_starts_no_further_post_and_loses_none():
    results, _ = run_series(trials=2, seed=20240601, drafts=10)

    for trial in results:
        assert trial.failures == [], trial.failures
        # Nothing started after the pause; what started before it, and only
        # that, reached the platforms.
        assert trial.intents_after == 0
        assert 0 < trial.intents_before < trial.queued
        assert trial.posts_at_stop == trial.intents_before
        # After the resume the rest went out, each post once.
        assert trial.final_published == trial.queued
        assert trial.duplicates == 0 and trial.lost == 0
