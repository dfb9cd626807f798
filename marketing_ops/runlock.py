"""Locks that say "this run is alive" and "this agent is running".

A run holds an exclusive ``flock`` on ``runs/<run_id>.lock`` for its whole
life.  The kernel drops the lock when the process dies, however it dies
(SIGKILL included), so a later run can tell a publish intent that is still
in flight (its run holds the lock) from one left behind by a crash (nobody
does).  ``agent_lock`` keeps two copies of the same agent from running at
once; different agents may overlap, and the ledger keeps them honest.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from marketing_ops.errors import MarketingOpsError


class AlreadyRunning(MarketingOpsError):
    exit_code = 0   # not a failure: the other copy does the work


def _runs_dir(state_dir: Path) -> Path:
    path = Path(state_dir) / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def hold_run(state_dir: Path, run_id: str) -> Iterator[None]:
    path = _runs_dir(state_dir) / f"{run_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        os.close(fd)


def run_is_alive(state_dir: Path, run_id: str | None) -> bool:
    """True while the run that wrote ``run_id`` still holds its lock."""
    if not run_id:
        return False
    path = _runs_dir(state_dir) / f"{run_id}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@contextmanager
def agent_lock(state_dir: Path, agent: str) -> Iterator[None]:
    path = _runs_dir(state_dir) / f"agent-{agent}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"the {agent} agent is already running; "
                                 "this copy did nothing") from None
        yield
    finally:
        os.close(fd)
