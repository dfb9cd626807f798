"""Concurrency: the orchestrator, the community agent and a manual
``run distribution`` started at the same instant, over and over.

Each trial queues more drafts than the post budget allows and seeds more
addressed mentions than the reply budget allows, then starts the three as
separate processes against one state folder and one sandbox (a process of
its own, with a few milliseconds of latency so the runs overlap).  Checked
per trial:

* no budget exceeded: posts per platform on the sandbox <= the
  MAX_LIVE_POSTS_PER_PLATFORM, replies <= MAX_LIVE_REPLIES_PER_PLATFORM
  (and the post budget is used in full: the runs did work);
* no post twice (copies per draft and platform on the sandbox);
* ``PRAGMA integrity_check`` is ``ok``;
* no deadlock (every process ends within the timeout), no "database is
  locked", no traceback, exit codes 0 or 1 only.

    python scripts/concurrency.py --trials 50 --seed 1

tests/reliability/test_concurrency.py runs a reduced sample.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.harness import (PUBLISHERS, cli, cli_env, machine,  # noqa: E402
                             make_drafts, sandbox_counts, write_workspace)

AGENTS = ("orchestrator", "community", "distribution")
POST_BUDGET = 3
REPLY_BUDGET = 2
DRAFTS = 6                   # twice the post budget
MENTIONS_PER_PLATFORM = 4    # twice the reply budget
REPLY_PLATFORMS = ("github", "telegram", "reddit")
TIMEOUT = 120
BAD_OUTPUT = ("Traceback", "database is locked", "internal error")


@dataclass
class Trial:
    number: int
    posts: Counter = field(default_factory=Counter)
    replies: Counter = field(default_factory=Counter)
    duplicates: int = 0
    integrity: str = ""
    intents_by_agent: Counter = field(default_factory=Counter)
    exit_codes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def seed_mentions(sandbox) -> None:
    from marketing_ops.sandbox import accounts

    texts = {
        "github": f"@{accounts.GITHUB_LOGIN} how do I install this?",
        "telegram": f"@{accounts.TELEGRAM_BOT_USERNAME} how do I install "
                    "this?",
        "reddit": "how do I install it?",
    }
    for platform in REPLY_PLATFORMS:
        for n in range(MENTIONS_PER_PLATFORM):
            fields = {"author": f"person-{n}"}
            if platform == "reddit":
                fields = {"kind": "username_mention", **fields}
            sandbox.seed_mention(platform, texts[platform], **fields)


def run_trial(sandbox, number: int, rng: random.Random,
              workroot: Path) -> Trial:
    trial = Trial(number)
    sandbox.reset()
    sandbox.set_latency(rng.choice((0.002, 0.005, 0.01)))
    seed_mentions(sandbox)
    workdir = Path(tempfile.mkdtemp(prefix=f"trial-{number}-",
                                    dir=workroot))
    config_dir, state_dir = write_workspace(
        workdir, sandbox, drafts=make_drafts(DRAFTS),
        env={"MAX_LIVE_POSTS_PER_PLATFORM": str(POST_BUDGET),
             "MAX_LIVE_REPLIES_PER_PLATFORM": str(REPLY_BUDGET)})
    env = cli_env(config_dir, state_dir)

    started = time.monotonic()
    order = list(AGENTS)
    rng.shuffle(order)       # who gets the CPU first varies
    processes = {agent: subprocess.Popen(
        cli("run", agent), env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True) for agent in order}
    for agent, process in processes.items():
        try:
            _, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
            trial.failures.append(f"{agent}: still running after "
                                  f"{TIMEOUT} s (deadlock?)")
        trial.exit_codes[agent] = process.returncode
        if process.returncode not in (0, 1):
            trial.failures.append(f"{agent}: exit {process.returncode}: "
                                  f"{stderr.strip()[-300:]}")
        for marker in BAD_OUTPUT:
            if marker in stderr:
                trial.failures.append(f"{agent}: {marker!r} on stderr: "
                                      f"{stderr.strip()[-300:]}")
    trial.seconds = time.monotonic() - started

    check(trial, sandbox, state_dir / "moltbook.db")
    return trial


def check(trial: Trial, sandbox, ledger: Path) -> None:
    posts = sandbox.posts
    trial.posts = Counter(p["platform"] for p in posts if p["kind"] == "post")
    trial.replies = Counter(p["platform"] for p in posts
                            if p["kind"] == "reply")
    copies = sandbox_counts(posts)
    trial.duplicates = sum(n - 1 for n in copies.values() if n > 1)
    conn = sqlite3.connect(ledger)
    try:
        trial.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        trial.intents_by_agent = Counter(dict(conn.execute(
            "SELECT agent, count(*) FROM events WHERE action IN "
            "('PUBLISH_INTENT', 'REPLY_INTENT') GROUP BY agent")))
    finally:
        conn.close()

    for platform in PUBLISHERS:
        if trial.posts[platform] != POST_BUDGET:
            trial.failures.append(f"{platform}: {trial.posts[platform]} "
                                  f"posts, budget {POST_BUDGET}")
    for platform, count in trial.replies.items():
        if count > REPLY_BUDGET:
            trial.failures.append(f"{platform}: {count} replies, budget "
                                  f"{REPLY_BUDGET}")
    if sum(trial.replies.values()) == 0:
        trial.failures.append("the community agent replied to nothing")
    if trial.duplicates:
        trial.failures.append(f"{trial.duplicates} duplicate post(s)")
    if trial.integrity != "ok":
        trial.failures.append(f"integrity_check: {trial.integrity}")


def run_series(trials: int, seed: int, progress=None):
    from marketing_ops.sandbox.testing import sandbox_process

    results = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="concurrency-") as root, \
            sandbox_process() as sandbox:
        for number in range(trials):
            trial = run_trial(sandbox, number,
                              random.Random(f"{seed}:{number}"), Path(root))
            results.append(trial)
            if progress:
                progress(trial)
    return results, time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    def progress(trial: Trial) -> None:
        if args.quiet:
            return
        print(f"trial {trial.number:3d} {trial.seconds:5.1f} s  posts "
              f"{dict(sorted(trial.posts.items()))}  replies "
              f"{dict(sorted(trial.replies.items()))}  intents "
              f"{dict(sorted(trial.intents_by_agent.items()))}  exits "
              f"{trial.exit_codes}"
              + ("" if not trial.failures else
                 "  <-- " + "; ".join(trial.failures)[:300]), flush=True)

    results, seconds = run_series(args.trials, args.seed, progress)
    failing = [t for t in results if t.failures]
    most_posts = max((max(t.posts.values(), default=0) for t in results),
                     default=0)
    most_replies = max((max(t.replies.values(), default=0)
                        for t in results), default=0)
    durations = sorted(t.seconds for t in results)
    print(f"\nConcurrency: {len(results)} trials, seed {args.seed}: "
          f"{', '.join(AGENTS)} started together")
    print(f"  machine              {machine()}")
    print(f"  most posts on one platform   {most_posts} "
          f"(budget {POST_BUDGET}, {DRAFTS} drafts queued)")
    print(f"  most replies on one platform {most_replies} "
          f"(budget {REPLY_BUDGET}, {MENTIONS_PER_PLATFORM} mentions each)")
    both = sum(t.intents_by_agent["orchestrator"] > 0
               and t.intents_by_agent["distribution"] > 0 for t in results)
    print(f"  trials where orchestrator and distribution both published: "
          f"{both} (the others: one took the whole budget first)")
    print(f"  duplicates           {sum(t.duplicates for t in results)}")
    print(f"  integrity_check ok   "
          f"{sum(t.integrity == 'ok' for t in results)}/{len(results)}")
    print(f"  deadlocks/timeouts   "
          f"{sum('deadlock' in ' '.join(t.failures) for t in results)}")
    print(f"  'database is locked' "
          f"{sum('database is locked' in ' '.join(t.failures) for t in results)}")
    print(f"  trials with a failure {len(failing)}")
    for trial in failing[:10]:
        print(f"    trial {trial.number}: {'; '.join(trial.failures)[:300]}")
    print(f"  trial wall time      median "
          f"{durations[len(durations) // 2]:.1f} s, max {durations[-1]:.1f} s;"
          f" total {seconds:.1f} s")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
