"""The ledger at a million events: how long ``marketing-ops events stats``
and the budget check take, and how big the database is.

The events are written quickly (executemany, one transaction, through a
Moltbook connection so the real schema, indexes and triggers are in
place), with the mix a busy installation would have after years: runs,
preflights, policy verdicts, intents with their results, breaker events.
Then:

* ``marketing-ops events stats`` as a subprocess (cold start included),
  median of 3;
* ``budget.budget_used`` for today's window, the check made before every
  post; ``budget.latest_attempt`` for one draft; the 60-day history the
  policy reads once per run and platform (``ledger_history``); ``claim`` (check + intent in one
  transaction);
* the database size.

    python bench/ledger_scale.py [--events 1000000]

Target: ``events stats`` under 1 s.  A figure to read, not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLATFORMS = ("github", "telegram", "x", "reddit", "discord")
#: One run's share of events: (action, status, event_type, per platform?)
RUN_EVENTS = (
    ("RUN_STARTED", "success", "AGENT_ACTION", False),
    ("PREFLIGHT", "success", "AGENT_ACTION", True),
    ("APPROVAL", "success", "AGENT_ACTION", True),
    ("POLICY_VERDICT", "success", "AGENT_ACTION", True),
    ("PUBLISH_INTENT", "pending", "AGENT_ACTION", True),
    ("PLATFORM_RESULT", "success", "AGENT_ACTION", True),
    ("RUN_SUMMARY", "success", "AGENT_ACTION", False),
)


def generate(conn, total: int, seed: int = 1) -> int:
    """Append ``total`` events in one transaction; returns the count."""
    rng = random.Random(seed)
    start = datetime.now(timezone.utc) - timedelta(days=3 * 365)
    step = timedelta(days=3 * 365) / total
    rows, next_id, run, last_intent = [], 1, 0, {}
    while next_id <= total:
        run += 1
        run_id = f"bench-run-{run}"
        draft = f"draft-{run // 3}"
        for action, status, event_type, each in RUN_EVENTS:
            for platform in (PLATFORMS if each else (None,)):
                if next_id > total:
                    break
                moment = start + step * next_id
                dedupe = None
                details = None
                reason = None
                if action == "PUBLISH_INTENT":
                    last_intent[platform] = next_id
                    dedupe = f"intent:post:{platform}:{draft}:{run}"
                    details = '{"attempt": 1, "kind": "post", "text": "x"}'
                elif action == "PLATFORM_RESULT":
                    dedupe = f"result:{last_intent[platform]}"
                    roll = rng.random()
                    status = ("failed" if roll < 0.03 else
                              "unknown" if roll < 0.035 else "success")
                    reason = "RATE_LIMITED" if status == "failed" else None
                elif action == "PREFLIGHT" and rng.random() < 0.01:
                    status, reason = "failed", "NETWORK_ERROR"
                    event_type = "ERROR"
                rows.append((moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                             run_id, "orchestrator", event_type, action,
                             status, platform, draft, reason,
                             f"{action.lower()} {platform or ''}", details,
                             None, dedupe))
                next_id += 1
                event_type = "AGENT_ACTION"
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO events (ts, run_id, agent, event_type, action, status,"
        " platform, draft, reason_code, message, details, permalink, "
        "dedupe_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return len(rows)


def timed(function, repeat: int = 5) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    from marketing_ops.moltbook import Moltbook
    from marketing_ops.safety import budget
    from marketing_ops.safety.policy import ledger_history

    from scripts.harness import machine

    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as root:
        config, state = Path(root) / "config", Path(root) / "state"
        config.mkdir()
        ledger_path = state / "moltbook.db"

        started = time.perf_counter()
        with Moltbook(ledger_path, run_id="bench", agent="bench") as ledger:
            written = generate(ledger.conn, args.events)
        generated = time.perf_counter() - started
        size_mb = sum(p.stat().st_size for p in state.glob("moltbook.db*")
                      ) / 2**20

        command = [sys.executable, "-m", "marketing_ops.cli", "--config-dir",
                   str(config), "--state-dir", str(state), "events", "stats"]
        stats_seconds, done = timed(lambda: subprocess.run(
            command, capture_output=True, text=True, check=True), repeat=3)
        baseline, _ = timed(lambda: subprocess.run(
            [sys.executable, "-c", "pass"], check=True), repeat=3)

        now = datetime.now(timezone.utc)
        since = budget.iso(budget.window_start(now))
        with Moltbook(ledger_path, run_id="bench-claim",
                      agent="bench") as ledger:
            conn = ledger.conn
            used_today, used = timed(lambda: budget.budget_used(
                conn, "x", "post", since))
            used_ever, _ = timed(lambda: budget.budget_used(
                conn, "x", "post", "1970-01-01"), repeat=3)
            latest, _ = timed(lambda: budget.latest_attempt(
                conn, "x", "draft-1000", "post"))
            history, posts = timed(lambda: ledger_history(
                ledger, "x", now, "post", timedelta(days=60)), repeat=3)
            claim_time, claim = timed(lambda: budget.claim(
                ledger, platform="x", subject=f"bench-{time.time_ns()}",
                kind="post", limit=10**9, since=since), repeat=5)

    print(f"Ledger with {written:,} events (written in {generated:.1f} s, "
          f"one transaction)")
    print(f"  machine                         {machine()}")
    print(f"  database size                   {size_mb:.0f} MB "
          f"({size_mb * 2**20 / written:.0f} bytes per event)")
    print(f"  marketing-ops events stats      {stats_seconds:.2f} s "
          f"(cold start included; python -c pass: {baseline:.2f} s)  "
          "target < 1 s")
    print(f"  budget_used, today's window     {used_today * 1000:.2f} ms "
          f"({used} intents today)")
    print(f"  budget_used, whole history      {used_ever * 1000:.1f} ms "
          "(worst case: a window covering every event)")
    print(f"  latest_attempt (one draft)      {latest * 1000:.2f} ms")
    print(f"  ledger_history (60 d, policy)   {history * 1000:.1f} ms "
          f"({len(posts)} posts)")
    print(f"  claim (check + intent, 1 txn)   {claim_time * 1000:.2f} ms "
          f"({type(claim).__name__})")
    print("  events stats output:")
    for line in done.stdout.strip().splitlines()[:8]:
        print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
