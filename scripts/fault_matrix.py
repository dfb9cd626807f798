"""The fault matrix: every publishing platform × every fault, through a
whole distribution run against the sandbox over real HTTP.

Each cell queues two drafts (A and B) for one platform, injects one fault
that hits A's publishing call, and runs the distribution agent twice:

run 1  the fault happens.  Observed: A's outcome and reason code, the
       circuit breaker (lock file and CIRCUIT_BREAKER_OPENED event), what
       happened to B, and the posts the sandbox recorded.
run 2  the next run after the cooldown (here the operator resets the
       breaker, and the fault is gone — except a revocation, which stays).
       Observed: nothing is posted twice, and every draft is published,
       reported unknown, or still queued for a later run.  Never gone.

    python scripts/fault_matrix.py            # prints the table
    python scripts/fault_matrix.py --verbose  # and every mismatch

Exit status 1 when any cell differs from its expectation.  The same cells
are asserted by tests/reliability/test_fault_matrix.py.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.harness import (PUBLISHERS, audit, draft_id,  # noqa: E402
                             events, make_drafts, write_workspace)

#: A rate limit far beyond what a connector waits out (30 s), in each
#: platform's own signal.
LONG_LIMIT = {
    "github": {"retry_after": 120, "status": 429},
    "telegram": {"retry_after": 120},
    "x": {"reset_in": 120},
    "reddit": {"reset": 120},
    "discord": {"retry_after": 120.5},
}
#: A short one, waited out by the connector (a real one-second sleep).
SHORT_LIMIT = {
    "github": {"retry_after": 1, "status": 429},
    "telegram": {"retry_after": 1},
    "x": {"reset_in": 1},
    "reddit": {"reset": 1},
    "discord": {"retry_after": 1.0},
}

#: Platforms that report some errors inside an HTTP 200 on publishing.
ERROR_IN_200 = ("github", "reddit")

#: The request timeout of the timeout cell, and the latency beyond it.
SHORT_TIMEOUT = 0.3
SLOW_ANSWER = 0.8


@dataclass(frozen=True)
class Expected:
    """What must happen in a cell."""
    a_status: str                 # A's outcome in run 1
    reason_code: str | None       # its reason code
    breaker: str | None           # reason code of the opened breaker
    posts_run1: int               # sandbox posts after run 1
    a_final: str                  # A after run 2: success/unknown/failed
    posts_final: int              # sandbox posts after run 2
    b_final: str | None = "success"   # B after run 2 (None: queued)
    retry_after: float | None = None  # the hint recorded with A's result


@dataclass
class Fault:
    name: str
    what: str
    expected: Expected
    #: The sandbox fault per platform: (kind, parameters); None for the
    #: refused connection, which needs no sandbox fault.
    inject: Callable[[str], tuple[str, dict] | None]
    platforms: tuple[str, ...] = PUBLISHERS
    request_timeout: float | None = None
    #: Per platform, fields of ``expected`` that differ.
    differs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def expect(self, platform: str) -> Expected:
        return replace(self.expected, **self.differs.get(platform, {}))


FAULTS = [
    Fault("429 long", "429 with a retry hint of ~120 s (platform's own "
          "signal)", Expected("failed", "RATE_LIMITED", "RATE_LIMITED", 0,
                              "success", 2),
          lambda p: ("rate_limit", LONG_LIMIT[p])),
    Fault("429 short", "429 with a 1 s retry hint: waited out, sent once",
          Expected("success", None, None, 2, "success", 2),
          lambda p: ("rate_limit", SHORT_LIMIT[p])),
    Fault("5xx", "HTTP 5xx on the publishing call (nothing recorded)",
          Expected("unknown", "PLATFORM_ERROR", "PLATFORM_ERROR", 0,
                   "unknown", 1),
          lambda p: ("server_error", {})),
    Fault("timeout", f"answer after {SLOW_ANSWER} s, request timeout "
          f"{SHORT_TIMEOUT} s", Expected("unknown", "NETWORK_ERROR",
                                        "NETWORK_ERROR", 1, "unknown", 2),
          lambda p: ("latency", {"seconds": SLOW_ANSWER}),
          request_timeout=SHORT_TIMEOUT),
    Fault("cut before", "connection refused (platform down after "
          "preflight): nothing sent", Expected("failed", "NETWORK_ERROR",
                                               "NETWORK_ERROR", 0,
                                               "success", 2),
          lambda p: None),
    Fault("cut after", "post recorded, connection dropped without an "
          "answer", Expected("unknown", "NETWORK_ERROR", "NETWORK_ERROR", 1,
                             "unknown", 2),
          lambda p: ("cut_after_record", {})),
    Fault("bad JSON", "post recorded, answer truncated (not JSON)",
          Expected("unknown", "PLATFORM_ERROR", "PLATFORM_ERROR", 1,
                   "unknown", 2),
          lambda p: ("malformed_json", {})),
    Fault("denied in 200", "HTTP 200 carrying a permission error (GitHub "
          "GraphQL FORBIDDEN, Reddit SUBREDDIT_NOTALLOWED)",
          Expected("failed", "PERMISSION_DENIED", "PERMISSION_DENIED", 0,
                   "success", 2),
          lambda p: ("error_in_200", {"code": "SUBREDDIT_NOTALLOWED",
                                      "message": "you are not allowed to "
                                                 "post there"}
                     if p == "reddit" else {}),
          platforms=ERROR_IN_200),
    Fault("limit in 200", "HTTP 200 carrying a rate limit (GitHub GraphQL "
          "RATE_LIMITED, Reddit RATELIMIT)",
          Expected("failed", "RATE_LIMITED", "RATE_LIMITED", 0, "success",
                   2, retry_after=120),
          lambda p: ("rate_limit", {"retry_after": 120}) if p == "github"
          else ("error_in_200", {"minutes": 5}),
          platforms=ERROR_IN_200, differs={"reddit": {"retry_after": 300}}),
    Fault("invalid in 200", "HTTP 200 carrying a content error (Reddit "
          "TOO_LONG): this post only, no breaker",
          Expected("failed", "INVALID_CONTENT", None, 1, "success", 2),
          lambda p: ("error_in_200", {"code": "TOO_LONG",
                                      "message": "this is too long",
                                      "field": "title"}),
          platforms=("reddit",)),
    Fault("revoked", "credentials revoked mid-run (after preflight)",
          Expected("failed", "AUTH_FAILED", "AUTH_FAILED", 0, "failed", 0,
                   b_final=None),
          lambda p: ("revoke", {})),
]
FAULTS_BY_NAME = {fault.name: fault for fault in FAULTS}


def cells() -> list[tuple[str, str]]:
    return [(platform, fault.name) for fault in FAULTS
            for platform in fault.platforms]


@dataclass
class Cell:
    platform: str
    fault: str
    a_status: str | None = None
    reason_code: str | None = None
    retry_after: float | None = None
    breaker: str | None = None          # lock file's reason code
    breaker_event: str | None = None    # CIRCUIT_BREAKER_OPENED's code
    b_run1: str | None = None           # B's action in run 1
    posts_run1: int = 0
    exit_run1: int | None = None
    a_final: str | None = None
    b_final: str | None = None
    posts_final: int = 0
    duplicates: int = 0
    lost: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


# -- one cell ---------------------------------------------------------------

def run_cell(platform: str, fault_name: str, workdir: Path) -> Cell:
    from marketing_ops.sandbox.server import SandboxServer

    fault = FAULTS_BY_NAME[fault_name]
    cell = Cell(platform, fault_name)
    started = time.monotonic()
    with SandboxServer() as sandbox:
        config_dir, state_dir = write_workspace(
            workdir, sandbox, drafts=make_drafts(2, [platform]),
            request_timeout=fault.request_timeout)
        first = _run_with_fault(cell, fault, sandbox, config_dir, state_dir)
        _observe_run1(cell, first, sandbox, state_dir)

        sandbox.clear_faults()
        _reset_breaker(config_dir, state_dir, platform)
        _run(config_dir, state_dir)
        _observe_final(cell, sandbox, state_dir)
    cell.seconds = time.monotonic() - started
    cell.problems = compare(cell, fault.expect(platform))
    return cell


def _run_with_fault(cell, fault, sandbox, config_dir, state_dir):
    platform = cell.platform
    if fault.inject(platform) is None:
        # The platform goes away between preflight and the post: every
        # later connection to it is refused, so nothing is sent.
        return _run(config_dir, state_dir,
                    after_preflight=lambda config: _point_at_closed_port(
                        config, platform))

    kind, params = fault.inject(platform)
    sandbox.inject(platform, "publish", kind, **params)
    summary = _run(config_dir, state_dir)
    if fault.name == "timeout":
        # The slow request is still being processed after the client gave
        # up; let it finish before counting.
        _wait_for_posts(sandbox, platform, 1, SLOW_ANSWER + 3)
    return summary


def _run(config_dir: Path, state_dir: Path, after_preflight=None):
    """One distribution run in this process, as ``run distribution``
    starts it (run lock, ledger, summary)."""
    from marketing_ops.agents import run_agent
    from marketing_ops.moltbook import new_run_id, open_ledger
    from marketing_ops.runlock import hold_run

    settings, config = _load(config_dir, state_dir)
    run_id = new_run_id()
    with _preflight_hook(config, after_preflight), \
            hold_run(state_dir, run_id), \
            open_ledger(settings, agent="distribution",
                        run_id=run_id) as ledger:
        return run_agent("distribution", settings, config, ledger,
                         dry_run=False)


_loaded: dict[Path, tuple] = {}


def _load(config_dir: Path, state_dir: Path):
    """Settings and a private copy of the configuration.  Parsing the
    YAML files is most of a small run's time, so each cell parses once."""
    import copy

    from marketing_ops.config import load_config
    from marketing_ops.config.settings import load_settings

    if config_dir not in _loaded:
        _loaded.clear()
        settings = load_settings(config_dir, state_dir, environ={})
        _loaded[config_dir] = (settings, load_config(settings))
    settings, config = _loaded[config_dir]
    return settings, copy.deepcopy(config)


@contextlib.contextmanager
def _preflight_hook(config, after_preflight: Callable | None):
    """Call ``after_preflight(config)`` once the run's preflight is done,
    before its first post."""
    if after_preflight is None:
        yield
        return
    from marketing_ops.agents import preflight

    original = preflight.run_preflight

    def hooked(*args, **kwargs):
        results = original(*args, **kwargs)
        after_preflight(config)
        return results

    preflight.run_preflight = hooked
    try:
        yield
    finally:
        preflight.run_preflight = original


def _point_at_closed_port(config, platform: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    section = config.platforms["platforms"][platform]
    for key in ("api_url", "graphql_url", "auth_url"):
        if key in section:
            section[key] = closed + ("/graphql" if key == "graphql_url"
                                     else "")


def _reset_breaker(config_dir, state_dir, platform) -> None:
    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import open_ledger
    from marketing_ops.safety import circuit

    settings = load_settings(config_dir, state_dir, environ={})
    with open_ledger(settings) as ledger:
        circuit.reset_breaker(settings, ledger, platform, "fault matrix")


def _wait_for_posts(sandbox, platform, count, seconds) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and \
            len(sandbox.posts_for(platform)) < count:
        time.sleep(0.05)
    time.sleep(0.1)


# -- observing ----------------------------------------------------------------

def _observe_run1(cell: Cell, summary, sandbox, state_dir: Path) -> None:
    from marketing_ops.config.settings import load_settings
    from marketing_ops.safety import circuit

    a, b = draft_id(1), draft_id(2)
    ledger_path = state_dir / "moltbook.db"
    [result] = [e for e in events(ledger_path, action="PLATFORM_RESULT",
                                  draft=a, platform=cell.platform)] or [None]
    if result is not None:
        cell.a_status = result["status"]
        cell.reason_code = result["reason_code"]
        cell.retry_after = (result.get("details") or {}).get("retry_after")
    settings = load_settings(state_dir.parent / "config", state_dir,
                             environ={})
    breaker = circuit.read_breaker(settings, cell.platform)
    cell.breaker = breaker.reason_code if breaker else None
    opened = events(ledger_path, action="CIRCUIT_BREAKER_OPENED",
                    platform=cell.platform)
    cell.breaker_event = opened[-1]["reason_code"] if opened else None
    b_events = [e for e in events(ledger_path, draft=b,
                                  platform=cell.platform)
                if e["action"] not in ("APPROVAL", "POLICY_VERDICT")]
    cell.b_run1 = (f"{b_events[-1]['action']}/{b_events[-1]['status']}"
                   if b_events else "not reached")
    cell.posts_run1 = len(sandbox.posts_for(cell.platform))
    cell.exit_run1 = summary.exit_code


def _observe_final(cell: Cell, sandbox, state_dir: Path) -> None:
    from scripts.harness import ledger_states

    ledger_path = state_dir / "moltbook.db"
    states = ledger_states(ledger_path)
    cell.a_final = states.get((draft_id(1), cell.platform))
    cell.b_final = states.get((draft_id(2), cell.platform))
    cell.posts_final = len(sandbox.posts_for(cell.platform))
    checked = audit([(draft_id(n), cell.platform) for n in (1, 2)],
                    sandbox.posts, ledger_path, settled=False)
    cell.duplicates = checked.duplicates
    cell.lost = checked.lost
    cell.problems.extend(checked.problems)


def compare(cell: Cell, expected: Expected) -> list[str]:
    """Every way the cell differs from what must happen."""
    problems = list(cell.problems)

    def check(label, seen, wanted):
        if seen != wanted:
            problems.append(f"{label}: {seen!r}, expected {wanted!r}")

    check("A's outcome", cell.a_status, expected.a_status)
    check("reason code", cell.reason_code, expected.reason_code)
    check("breaker lock", cell.breaker, expected.breaker)
    check("breaker event", cell.breaker_event, expected.breaker)
    check("posts after run 1", cell.posts_run1, expected.posts_run1)
    check("A after run 2", cell.a_final, expected.a_final)
    check("B after run 2", cell.b_final, expected.b_final)
    check("posts after run 2", cell.posts_final, expected.posts_final)
    check("duplicates", cell.duplicates, 0)
    check("lost", cell.lost, 0)
    if expected.breaker:
        check("B in run 1", cell.b_run1, "PLATFORM_SKIPPED/blocked")
    if expected.a_status != "success":
        check("exit code of run 1", cell.exit_run1, 1)
    if expected.retry_after is not None and (
            cell.retry_after is None
            or abs(cell.retry_after - expected.retry_after) > 3):
        problems.append(f"retry hint: {cell.retry_after!r}, expected about "
                        f"{expected.retry_after:g} s from the platform's "
                        "signal")
    return problems


# -- the table ----------------------------------------------------------------

def run_matrix(selected: list[tuple[str, str]]) -> list[Cell]:
    results = []
    for platform, fault in selected:
        workdir = Path(tempfile.mkdtemp(prefix="fault-matrix-"))
        try:
            results.append(run_cell(platform, fault, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def print_table(results: list[Cell], verbose: bool) -> None:
    header = (f"{'platform':<9} {'fault':<14} {'A (run 1)':<9} "
              f"{'reason':<17} {'breaker':<17} {'B (run 1)':<25} "
              f"{'posts':>5} {'A/B after run 2':<17} {'posts':>5} "
              f"{'dup':>3} {'lost':>4}  ok")
    print(header)
    print("-" * len(header))
    for cell in results:
        print(f"{cell.platform:<9} {cell.fault:<14} "
              f"{cell.a_status or '-':<9} {cell.reason_code or '-':<17} "
              f"{cell.breaker or 'closed':<17} {cell.b_run1 or '-':<25} "
              f"{cell.posts_run1:>5} "
              f"{(cell.a_final or '-') + '/' + (cell.b_final or 'queued'):<17}"
              f" {cell.posts_final:>5} {cell.duplicates:>3} {cell.lost:>4}  "
              f"{'yes' if not cell.problems else 'NO'}")
        if verbose:
            for problem in cell.problems:
                print(f"    ! {problem}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", action="append",
                        choices=PUBLISHERS)
    parser.add_argument("--fault", action="append",
                        choices=list(FAULTS_BY_NAME))
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)

    import logging
    logging.basicConfig(level=logging.ERROR)

    selected = [(p, f) for p, f in cells()
                if (not args.platform or p in args.platform)
                and (not args.fault or f in args.fault)]
    started = time.monotonic()
    results = run_matrix(selected)
    print_table(results, args.verbose)
    failing = [c for c in results if c.problems]
    print(f"\n{len(results)} cells, {len(results) - len(failing)} as "
          f"expected, {len(failing)} not; {time.monotonic() - started:.1f} s")
    for fault in FAULTS:
        print(f"  {fault.name:<14} {fault.what}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
