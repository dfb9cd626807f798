"""The budget count (two index range scans) against the plain definition
it replaced: live intents in the window whose result is not 'failed',
checked intent by intent.  Random ledgers: intents before and inside the
window, results of every status or none, several platforms, posts and
replies."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from marketing_ops.moltbook import Moltbook
from marketing_ops.safety import budget

#: The definition, as the budget was first written.
DEFINITION = (
    "SELECT count(*) FROM events i "
    "WHERE i.platform = ? AND i.action = ? AND i.ts >= ? "
    "AND NOT EXISTS (SELECT 1 FROM events r "
    "                WHERE r.dedupe_key = 'result:' || i.id "
    "                AND r.status = 'failed')")

intent = st.tuples(
    st.sampled_from(["x", "github"]),                 # platform
    st.sampled_from(["post", "reply"]),               # kind
    st.integers(0, 9),                                # hour it was made
    st.sampled_from([None, "success", "failed", "unknown"]),  # its result
    st.integers(0, 3))                                # hours until result

SINCE_HOUR = 5


def ts(hour: int) -> str:
    return f"2024-05-01T{hour:02d}:00:00.000000Z"


@settings(max_examples=150, deadline=None, derandomize=True)
@given(intents=st.lists(intent, max_size=25))
def test_budget_used_matches_its_definition(tmp_path_factory, intents):
    path = tmp_path_factory.mktemp("ledger") / "moltbook.db"
    with Moltbook(path) as ledger:
        conn = ledger.conn
        for n, (platform, kind, hour, result, delay) in enumerate(intents):
            intent_id = conn.execute(
                "INSERT INTO events (ts, agent, event_type, action, status,"
                " platform, draft) VALUES (?, 't', 'AGENT_ACTION', ?, "
                "'pending', ?, ?)",
                (ts(hour), budget.INTENT_ACTION[kind], platform,
                 f"d{n}")).lastrowid
            if result is not None:
                conn.execute(
                    "INSERT INTO events (ts, agent, event_type, action, "
                    "status, platform, draft, dedupe_key) VALUES "
                    "(?, 't', 'AGENT_ACTION', ?, ?, ?, ?, ?)",
                    (ts(hour + delay), budget.RESULT_ACTION[kind], result,
                     platform, f"d{n}", f"result:{intent_id}"))

        since = ts(SINCE_HOUR)
        for platform in ("x", "github"):
            for kind in ("post", "reply"):
                expected = conn.execute(
                    DEFINITION, (platform, budget.INTENT_ACTION[kind],
                                 since)).fetchone()[0]
                assert budget.budget_used(conn, platform, kind, since) == \
                    expected
