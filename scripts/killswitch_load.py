"""The kill switch under load: ``bin/pause-publishing.sh`` while a run is
working through a long queue.

Each trial queues DRAFTS × the five platforms against a sandbox process
answering every request after ~50 ms, starts ``run distribution``, and
once a seeded number of posts have been started, runs the operator's
pause script.  Checked:

* no PUBLISH_INTENT has an id greater than the PUBLISHING_PAUSED event's:
  nothing is *started* after the pause;
* the sandbox holds exactly as many posts as there were intents before
  the pause (a post in flight at the moment of the pause may complete —
  the documented semantics: a pause takes effect before the next post);
* the run stops by itself (KILL_SWITCH event, exit 0) — how long after the
  pause is printed;
* nothing queued is lost: after ``bin/resume-publishing.sh`` a rerun
  publishes every remaining post, once.

    python scripts/killswitch_load.py --trials 5 --drafts 40

tests/reliability/test_killswitch_load.py runs a smaller queue.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.harness import (PUBLISHERS, REPO, audit, cli,  # noqa: E402
                             cli_env, draft_id, machine, make_drafts,
                             write_workspace)

LATENCY = 0.05
TIMEOUT = 600


@dataclass
class Trial:
    number: int
    queued: int = 0
    pause_after: int = 0            # intents seen when the pause was asked
    intents_before: int = 0
    intents_after: int = 0
    posts_at_stop: int = 0
    stop_seconds: float = 0.0       # pause script started -> run exited
    run_exit: int | None = None
    final_published: int = 0
    final_queued: int = 0           # still queued after the rerun
    final_unknown: int = 0
    duplicates: int = 0
    lost: int = 0
    failures: list[str] = field(default_factory=list)


def operator_env(env: dict[str, str], workdir: Path) -> dict[str, str]:
    """The bin scripts' environment: this checkout's CLI, and a service
    user that does not exist (nothing to hand files back to)."""
    wrapper = workdir / "marketing-ops"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m "
                       "marketing_ops.cli \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return {**env, "MARKETING_OPS_BIN": str(wrapper),
            "MARKETING_OPS_USER": "no-such-user-for-this-test"}


def run_trial(sandbox, number: int, rng: random.Random, drafts: int,
              workroot: Path) -> Trial:
    trial = Trial(number, queued=drafts * len(PUBLISHERS))
    sandbox.reset()
    sandbox.set_latency(LATENCY)
    workdir = Path(tempfile.mkdtemp(prefix=f"trial-{number}-",
                                    dir=workroot))
    config_dir, state_dir = write_workspace(workdir, sandbox,
                                            drafts=make_drafts(drafts))
    env = cli_env(config_dir, state_dir)
    operator = operator_env(env, workdir)
    ledger = state_dir / "moltbook.db"
    trial.pause_after = rng.randint(1, trial.queued // 2)

    process = subprocess.Popen(cli("run", "distribution"), env=env,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    if not wait_for_intents(process, ledger, trial.pause_after):
        trial.failures.append("the run ended before the pause point")
    paused_at = time.monotonic()
    pause = subprocess.run([str(REPO / "bin" / "pause-publishing.sh"),
                            "kill switch under load"], env=operator,
                           capture_output=True, text=True, timeout=60)
    if pause.returncode != 0:
        trial.failures.append(f"pause script: exit {pause.returncode}: "
                              f"{pause.stderr.strip()[-300:]}")
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    trial.stop_seconds = time.monotonic() - paused_at
    trial.run_exit = process.returncode
    trial.posts_at_stop = len(sandbox.posts)

    check_pause(trial, ledger, stdout, stderr)
    resume_and_finish(trial, sandbox, env, operator, ledger, drafts)
    return trial


def wait_for_intents(process, ledger: Path, count: int) -> bool:
    while process.poll() is None:
        if ledger.exists() and _intents(ledger) >= count:
            return True
        time.sleep(0.005)
    return False


def _intents(ledger: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM events WHERE action "
                                "= 'PUBLISH_INTENT'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def check_pause(trial: Trial, ledger: Path, stdout: str, stderr: str):
    conn = sqlite3.connect(ledger)
    try:
        [pause_id] = conn.execute(
            "SELECT id FROM events WHERE action = 'PUBLISHING_PAUSED' "
            "AND status = 'success'").fetchone() or [None]
        if pause_id is None:
            trial.failures.append("no PUBLISHING_PAUSED event")
            return
        trial.intents_before, trial.intents_after = conn.execute(
            "SELECT sum(id < ?), sum(id > ?) FROM events "
            "WHERE action = 'PUBLISH_INTENT'", (pause_id, pause_id)
        ).fetchone()
        stopped = conn.execute(
            "SELECT count(*) FROM events WHERE action = 'KILL_SWITCH' "
            "AND id > ?", (pause_id,)).fetchone()[0]
    finally:
        conn.close()

    if trial.intents_after:
        trial.failures.append(f"{trial.intents_after} post(s) started "
                              "after the pause")
    if trial.posts_at_stop != trial.intents_before:
        trial.failures.append(
            f"{trial.posts_at_stop} posts on the platforms, "
            f"{trial.intents_before} started before the pause")
    if trial.intents_before >= trial.queued:
        trial.failures.append("the whole queue went out: the pause came "
                              "too late to prove anything")
    if not stopped:
        trial.failures.append("the run did not record KILL_SWITCH")
    if trial.run_exit != 0:
        trial.failures.append(f"run exit {trial.run_exit}: "
                              f"{stderr.strip()[-300:]}")
    if "Publishing stopped" not in stdout:
        trial.failures.append("the run's summary does not say it stopped")


def resume_and_finish(trial, sandbox, env, operator, ledger, drafts):
    """After the resume, the next run publishes the rest: nothing was lost
    and nothing is posted twice."""
    resumed = subprocess.run([str(REPO / "bin" / "resume-publishing.sh")],
                             env=operator, capture_output=True, text=True,
                             timeout=60)
    if resumed.returncode != 0:
        trial.failures.append(f"resume script: exit {resumed.returncode}: "
                              f"{resumed.stderr.strip()[-300:]}")
    sandbox.set_latency(0)
    done = subprocess.run(cli("run", "distribution"), env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    # Exit 1 is allowed here: the sandbox keeps Discord's 30 messages a
    # minute per webhook, so a long queue meets a real rate limit, and the
    # rest waits (queued) for a later run.
    if done.returncode not in (0, 1):
        trial.failures.append(f"run after resume: exit {done.returncode}: "
                              f"{done.stderr.strip()[-300:]}")
    expected = [(draft_id(n), p) for n in range(1, drafts + 1)
                for p in PUBLISHERS]
    checked = audit(expected, sandbox.posts, ledger, settled=False)
    trial.final_published = checked.published
    trial.final_queued = checked.failed_or_queued
    trial.final_unknown = checked.unknown
    if checked.published + checked.failed_or_queued != len(expected):
        trial.failures.append(f"{checked.unknown} unknown outcome(s) "
                              "without any fault")
    trial.duplicates = checked.duplicates
    trial.lost = checked.lost
    trial.failures.extend(checked.problems)


def run_series(trials: int, seed: int, drafts: int, progress=None):
    from marketing_ops.sandbox.testing import sandbox_process

    results = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="killswitch-") as root, \
            sandbox_process() as sandbox:
        for number in range(trials):
            trial = run_trial(sandbox, number,
                              random.Random(f"{seed}:{number}"), drafts,
                              Path(root))
            results.append(trial)
            if progress:
                progress(trial)
    return results, time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drafts", type=int, default=40)
    args = parser.parse_args(argv)

    def progress(trial: Trial) -> None:
        print(f"trial {trial.number}: queue {trial.queued}, paused after "
              f"{trial.pause_after} intents seen; intents before/after the "
              f"pause {trial.intents_before}/{trial.intents_after}; posts "
              f"at stop {trial.posts_at_stop}; stopped "
              f"{trial.stop_seconds:.2f} s after the pause script started; "
              f"after resume {trial.final_published}/{trial.queued} "
              f"published, {trial.final_queued} queued for a later run, "
              f"dup {trial.duplicates}, lost {trial.lost}"
              + ("" if not trial.failures else
                 "  <-- " + "; ".join(trial.failures)[:300]), flush=True)

    results, seconds = run_series(args.trials, args.seed, args.drafts,
                                  progress)
    failing = [t for t in results if t.failures]
    print(f"\nKill switch under load: {len(results)} trials, "
          f"{args.drafts} drafts x {len(PUBLISHERS)} platforms, sandbox "
          f"latency {LATENCY * 1000:.0f} ms")
    print(f"  machine                      {machine()}")
    print(f"  intents after the pause      "
          f"{sum(t.intents_after for t in results)}")
    print(f"  posts != intents before pause "
          f"{sum(t.posts_at_stop != t.intents_before for t in results)}")
    stops = sorted(t.stop_seconds for t in results)
    print(f"  pause script start -> run exit: median "
          f"{stops[len(stops) // 2]:.2f} s, max {stops[-1]:.2f} s "
          "(includes the script's own CLI start)")
    print(f"  duplicates / lost after resume "
          f"{sum(t.duplicates for t in results)} / "
          f"{sum(t.lost for t in results)}")
    print(f"  trials with a failure        {len(failing)}; total "
          f"{seconds:.1f} s")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
