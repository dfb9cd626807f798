"""Every publishing platform × every fault, through whole distribution runs
against the sandbox over real HTTP (see scripts/fault_matrix.py for the
table and what each cell does).

Per cell: the reason code and the breaker the fault must produce, what
happens to the draft behind it, and — after a second run — that nothing was
posted twice and no draft vanished: each one is published, reported
unknown, or still queued for a later run.
"""

from __future__ import annotations

import pytest

from scripts.fault_matrix import FAULTS_BY_NAME, cells, run_cell
from scripts.harness import draft_id, events


@pytest.mark.parametrize("platform,fault", cells(),
                         ids=[f"{p}-{f.replace(' ', '_')}"
                              for p, f in cells()])
def test_fault_cell(tmp_path, platform, fault):
    expected = FAULTS_BY_NAME[fault].expect(platform)

    cell = run_cell(platform, fault, tmp_path)

    assert (cell.a_status, cell.reason_code) == (expected.a_status,
                                                 expected.reason_code)
    assert cell.breaker == cell.breaker_event == expected.breaker
    assert cell.duplicates == 0
    assert cell.lost == 0
    assert cell.problems == []


def test_unknown_outcome_is_reported_with_what_to_do(tmp_path):
    """An unknown outcome is never silent: the run fails (exit 1), the
    ledger says what to do, and the next run leaves the draft alone."""
    cell = run_cell("telegram", "cut after", tmp_path)

    [result] = events(tmp_path / "state" / "moltbook.db",
                      action="PLATFORM_RESULT", draft=draft_id(1))
    assert cell.exit_run1 == 1
    assert result["status"] == "unknown"
    assert "check the platform by hand" in result["message"]
    assert cell.posts_final == 2 and cell.duplicates == 0
