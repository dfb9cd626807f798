"""One distribution run over 100, 1,000 and 10,000 drafts × 5 platforms
against the sandbox: wall time and peak memory of the run's process.

``marketing-ops run distribution`` runs as a child process (so its peak
resident memory can be read alone, from ``os.wait4``); the sandbox runs
in this process, with no latency, and with its rate-limit windows lifted
(a real platform would stop a queue this long within minutes — Discord
after 30 messages — which is the breakers' business, not this figure's).
The budget is set high enough for every post to go out, and the policy
copy leaves out the rules that depend on the clock or on earlier posts
(quiet hours, minimum interval, no repeat).

    python bench/run_scale.py [--sizes 100 1000 10000] [--profile N]

Targets: time growing linearly with the queue; peak memory under 150 MB at
10,000 drafts.  ``--profile N`` runs N drafts in this process under
cProfile and prints the top functions.  Figures to read, not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.harness import (PUBLISHERS, cli, cli_env, machine,  # noqa: E402
                             make_drafts, write_workspace)


def lift_rate_limits(server) -> None:
    """Make every rate-limit window of the in-process sandbox too large to
    matter.  This reaches into the sandbox's own objects, which is fine for
    a benchmark and nowhere else."""
    from marketing_ops.sandbox import reddit
    from marketing_ops.sandbox.base import FixedWindow

    reddit.WINDOW_LIMIT = 10**9
    for platform in server._platforms.values():
        for value in vars(platform).values():
            windows = value.values() if isinstance(value, dict) else [value]
            for window in windows:
                if isinstance(window, FixedWindow):
                    window.limit = 10**9


def measure(drafts: int, workroot: Path) -> dict:
    from marketing_ops.sandbox.server import SandboxServer

    with SandboxServer() as sandbox:
        lift_rate_limits(sandbox)
        workdir = Path(tempfile.mkdtemp(prefix=f"run-{drafts}-",
                                        dir=workroot))
        config_dir, state_dir = write_workspace(
            workdir, sandbox, drafts=make_drafts(drafts),
            env={"MAX_LIVE_POSTS_PER_PLATFORM": str(drafts * 10)})
        started = time.perf_counter()
        process = subprocess.Popen(cli("run", "distribution"),
                                   env=cli_env(config_dir, state_dir),
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        posts = len(sandbox.posts)
        ledger = state_dir / "moltbook.db"
        ledger_mb = sum(p.stat().st_size for p in
                        state_dir.glob("moltbook.db*")) / 2**20
        events = _count_events(ledger)
    return {"drafts": drafts, "seconds": seconds,
            "peak_mb": usage.ru_maxrss / 1024, "posts": posts,
            "exit": process.returncode, "events": events,
            "ledger_mb": ledger_mb}


def _count_events(ledger: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(ledger)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


def profile(drafts: int, workroot: Path) -> None:
    """The run in this process under cProfile, and tracemalloc's peak."""
    import cProfile
    import pstats
    import tracemalloc

    from marketing_ops.agents import run_agent
    from marketing_ops.config import load_config
    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import new_run_id, open_ledger
    from marketing_ops.runlock import hold_run
    from marketing_ops.sandbox.server import SandboxServer

    with SandboxServer() as sandbox:
        lift_rate_limits(sandbox)
        config_dir, state_dir = write_workspace(
            workroot, sandbox, drafts=make_drafts(drafts),
            env={"MAX_LIVE_POSTS_PER_PLATFORM": str(drafts * 10)})
        settings = load_settings(config_dir, state_dir, environ={})
        config = load_config(settings)
        run_id = new_run_id()
        profiler = cProfile.Profile()
        tracemalloc.start()
        with hold_run(state_dir, run_id), open_ledger(
                settings, agent="distribution", run_id=run_id) as ledger:
            profiler.enable()
            run_agent("distribution", settings, config, ledger,
                      dry_run=False)
            profiler.disable()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"Profile of a run over {drafts} drafts (this process, sandbox "
          f"threads included in memory): tracemalloc peak "
          f"{peak / 2**20:.1f} MB")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[100, 1000, 10000])
    parser.add_argument("--profile", type=int, metavar="N")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="run-bench-") as root:
        if args.profile:
            profile(args.profile, Path(root))
            return 0
        print(f"Distribution run over N drafts x {len(PUBLISHERS)} "
              "platforms, sandbox without latency")
        print(f"  machine: {machine()}")
        print(f"  {'drafts':>7} {'posts':>7} {'wall s':>8} {'ms/post':>8} "
              f"{'peak MB':>8} {'events':>8} {'ledger MB':>9} exit")
        rows = []
        for size in args.sizes:
            row = measure(size, Path(root))
            rows.append(row)
            per_post = row["seconds"] * 1000 / max(row["posts"], 1)
            print(f"  {row['drafts']:>7} {row['posts']:>7} "
                  f"{row['seconds']:>8.1f} {per_post:>8.2f} "
                  f"{row['peak_mb']:>8.1f} {row['events']:>8} "
                  f"{row['ledger_mb']:>9.1f} {row['exit']:>4}", flush=True)
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = last["seconds"] / first["seconds"]
        size_ratio = last["drafts"] / first["drafts"]
        print(f"  time x{growth:.1f} for x{size_ratio:.0f} drafts "
              "(linear would be about the same factor, less the fixed "
              "start-up)")
    print("  targets: linear growth; peak memory < 150 MB at 10,000 drafts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
