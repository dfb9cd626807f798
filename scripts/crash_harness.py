"""Crash consistency: kill the publisher with SIGKILL mid-run, rerun until
the queue settles, and count what the platforms received.

The sandbox runs as its own process (it must outlive the publisher, and
its record of accepted posts is the ground truth).  Each trial:

1. a fresh configuration and state folder, the sandbox reset; a queue of
   drafts × the five platforms;
2. ``marketing-ops run distribution`` as a subprocess, killed with SIGKILL
   either after a seeded random delay inside the publishing window, or at
   a point read from the ledger (just after the k-th PUBLISH_INTENT
   appears, or just after the k-th PLATFORM_RESULT); sometimes the first
   rerun is killed too;
3. reruns until a run changes nothing (the queue has settled);
4. an audit: copies per draft and platform on the sandbox (duplicates,
   must be 0), drafts neither published nor reported (lost, must be 0),
   and outcomes reported unknown (allowed: the run cannot tell whether a
   killed call went out, so it says so instead of posting again).

    python scripts/crash_harness.py --trials 200 --seed 1

Exit status 1 when any duplicate, lost draft or unexpected failure (a
traceback, "database is locked", an exit code other than 0 or 1) is seen.
tests/reliability/test_crash.py runs a reduced sample.
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.harness import (PUBLISHERS, Audit, audit, cli,  # noqa: E402
                             cli_env, draft_id, ledger_states, machine,
                             make_drafts, write_workspace)

RUN_TIMEOUT = 120           # seconds a rerun may take before it is a hang
MAX_RERUNS = 6
#: Outcomes no later run changes.
FINAL = ("success", "unknown")
#: What a finished run may print to stderr without being a failure.
BAD_OUTPUT = ("Traceback", "database is locked", "internal error")


@dataclass
class Trial:
    number: int
    mode: str = ""
    kills: int = 0
    reruns: int = 0
    audit: Audit = field(default_factory=Audit)
    failures: list[str] = field(default_factory=list)


@dataclass
class Totals:
    trials: int = 0
    kills: int = 0
    finished_before_kill: int = 0
    reruns: int = 0
    audit: Audit = field(default_factory=Audit)
    failures: list[str] = field(default_factory=list)
    modes: dict[str, int] = field(default_factory=dict)

    def add(self, trial: Trial) -> None:
        self.trials += 1
        self.kills += trial.kills
        self.finished_before_kill += trial.kills == 0
        self.reruns += trial.reruns
        self.audit.merge(trial.audit)
        self.failures.extend(f"trial {trial.number}: {f}"
                             for f in trial.failures)
        self.modes[trial.mode] = self.modes.get(trial.mode, 0) + 1

    @property
    def ok(self) -> bool:
        return (self.audit.duplicates == 0 and self.audit.lost == 0
                and not self.failures)


# -- one trial ---------------------------------------------------------------

def run_trial(sandbox, number: int, rng: random.Random, drafts: int,
              window: tuple[float, float], workroot: Path) -> Trial:
    trial = Trial(number)
    sandbox.reset()
    sandbox.set_latency(rng.choice((0.0, 0.005, 0.02)))
    workdir = Path(tempfile.mkdtemp(prefix=f"trial-{number}-",
                                    dir=workroot))
    config_dir, state_dir = write_workspace(workdir, sandbox,
                                            drafts=make_drafts(drafts))
    env = cli_env(config_dir, state_dir)
    ledger = state_dir / "moltbook.db"
    posts = drafts * len(PUBLISHERS)

    trial.mode, killer = choose_kill(rng, posts, window, ledger)
    trial.kills += run_and_kill(env, killer, trial)
    if rng.random() < 0.3:
        # Crash the recovery too: the rerun reconciles, then dies.
        _, second = choose_kill(rng, posts, window, ledger)
        trial.kills += run_and_kill(env, second, trial)

    expected = [(draft_id(n), p) for n in range(1, drafts + 1)
                for p in PUBLISHERS]
    settle(env, sandbox, ledger, expected, trial)
    trial.audit = audit(expected, sandbox.posts, ledger, settled=True)
    trial.failures.extend(trial.audit.problems)
    return trial


def choose_kill(rng, posts, window, ledger):
    """A seeded kill point: ``(label, killer)``, where ``killer(process)``
    waits for the moment and returns True when it is time to kill."""
    mode = rng.choice(("random delay", "after intent k", "after result k"))
    if mode == "random delay":
        delay = rng.uniform(*window)
        return mode, lambda process: _wait_delay(process, delay)
    k = rng.randint(1, posts)
    action = "PUBLISH_INTENT" if mode == "after intent k" else \
        "PLATFORM_RESULT"
    return mode, lambda process: _wait_ledger(process, ledger, action, k)


def _wait_delay(process, delay: float) -> bool:
    try:
        process.wait(timeout=delay)
        return False           # finished before the moment came
    except subprocess.TimeoutExpired:
        return True


def _wait_ledger(process, ledger: Path, action: str, count: int) -> bool:
    """Poll the ledger (read-only) until ``count`` events of ``action``
    exist; True as soon as they do, False if the run ends first."""
    while process.poll() is None:
        if ledger.exists() and _count(ledger, action) >= count:
            return True
        time.sleep(0.002)
    return False


def _count(ledger: Path, action: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True,
                               timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM events WHERE "
                                "action = ?", (action,)).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0               # not created yet, or mid-creation


def run_and_kill(env, killer, trial: Trial) -> int:
    """Start a run, kill it at the chosen moment; 1 if it was killed."""
    process = subprocess.Popen(cli("run", "distribution"), env=env,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    killed = killer(process)
    if killed and process.poll() is None:
        process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=RUN_TIMEOUT)
    if process.returncode == -signal.SIGKILL:
        return 1
    check_finished(process.returncode, stderr, trial)
    return 0


def settle(env, sandbox, ledger: Path, expected, trial: Trial) -> None:
    """Rerun until every draft × platform has a final outcome (published
    or unknown: later runs never touch those again), or until a run
    changes neither the ledger's outcomes nor the platforms' posts."""
    before = (ledger_states(ledger), len(sandbox.posts))
    for _ in range(MAX_RERUNS):
        try:
            done = subprocess.run(cli("run", "distribution"), env=env,
                                  capture_output=True, text=True,
                                  timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            trial.failures.append(f"a rerun hung for {RUN_TIMEOUT} s")
            return
        trial.reruns += 1
        check_finished(done.returncode, done.stderr, trial)
        after = (ledger_states(ledger), len(sandbox.posts))
        if all(after[0].get(key) in FINAL for key in expected):
            return
        if after == before and "pending" not in after[0].values():
            return
        before = after
    trial.failures.append(f"the queue did not settle in {MAX_RERUNS} "
                          "reruns")


def check_finished(returncode: int, stderr: str, trial: Trial) -> None:
    """A run that was not killed exits 0 (all done) or 1 (something
    failed or is unknown, and the summary says what); nothing else."""
    if returncode not in (0, 1):
        trial.failures.append(f"exit code {returncode}: {stderr[-300:]}")
    for marker in BAD_OUTPUT:
        if marker in stderr:
            trial.failures.append(f"{marker!r} on stderr: {stderr[-300:]}")


# -- calibration and the whole series ----------------------------------------

def publishing_window(sandbox, drafts: int, workroot: Path
                      ) -> tuple[float, float]:
    """Seconds after start between which an uninterrupted run publishes:
    from just before its first intent to just after its last result."""
    sandbox.reset()
    workdir = Path(tempfile.mkdtemp(prefix="calibrate-", dir=workroot))
    config_dir, state_dir = write_workspace(workdir, sandbox,
                                            drafts=make_drafts(drafts))
    started = time.time()
    subprocess.run(cli("run", "distribution"), env=cli_env(config_dir,
                                                           state_dir),
                   capture_output=True, timeout=RUN_TIMEOUT, check=False)
    conn = sqlite3.connect(state_dir / "moltbook.db")
    first, last = conn.execute(
        "SELECT min(ts), max(ts) FROM events WHERE action IN "
        "('PUBLISH_INTENT', 'PLATFORM_RESULT')").fetchone()
    conn.close()

    def offset(ts: str) -> float:
        from datetime import datetime
        moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        return moment.timestamp() - started

    return max(offset(first) - 0.05, 0.0), offset(last) + 0.05


def run_series(trials: int, seed: int, drafts: int,
               progress=None) -> tuple[Totals, float]:
    from marketing_ops.sandbox.testing import sandbox_process

    totals = Totals()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crash-harness-") as root, \
            sandbox_process() as sandbox:
        workroot = Path(root)
        window = publishing_window(sandbox, drafts, workroot)
        for number in range(trials):
            rng = random.Random(f"{seed}:{number}")
            trial = run_trial(sandbox, number, rng, drafts, window,
                              workroot)
            totals.add(trial)
            if progress:
                progress(trial, totals)
    return totals, time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drafts", type=int, default=4,
                        help="drafts in the queue (each to 5 platforms)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    def progress(trial: Trial, totals: Totals) -> None:
        if args.quiet:
            return
        flag = "" if not trial.failures else "  <-- " + "; ".join(
            trial.failures)[:200]
        print(f"trial {trial.number:4d} {trial.mode:<15} kills "
              f"{trial.kills} reruns {trial.reruns} published "
              f"{trial.audit.published:3d} unknown {trial.audit.unknown:2d}"
              f" dup {trial.audit.duplicates} lost {trial.audit.lost}{flag}",
              flush=True)

    totals, seconds = run_series(args.trials, args.seed, args.drafts,
                                 progress)
    print_totals(totals, seconds, args)
    return 0 if totals.ok else 1


def print_totals(totals: Totals, seconds: float, args) -> None:
    a = totals.audit
    print(f"\nCrash consistency: {totals.trials} trials, seed {args.seed}, "
          f"{args.drafts} drafts x {len(PUBLISHERS)} platforms each")
    print(f"  machine            {machine()}")
    print(f"  kills (SIGKILL)    {totals.kills} "
          f"({totals.finished_before_kill} runs finished before their "
          "kill point)")
    print("  kill points        " + ", ".join(
        f"{m}: {n}" for m, n in sorted(totals.modes.items())))
    print(f"  reruns             {totals.reruns}")
    print(f"  posts expected     {a.expected}")
    print(f"  published          {a.published}")
    print(f"  unknown, reported  {a.unknown} ({a.unknown_posted} of them "
          "had in fact reached the platform)")
    print(f"  duplicates         {a.duplicates}")
    print(f"  lost               {a.lost}")
    print(f"  other failures     {len(totals.failures)}")
    for failure in totals.failures[:20]:
        print(f"    {failure}")
    print(f"  time               {seconds:.1f} s "
          f"({seconds / max(totals.trials, 1):.2f} s per trial)")


if __name__ == "__main__":
    sys.exit(main())
