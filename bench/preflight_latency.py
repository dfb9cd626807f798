"""Preflight of all six platforms beside the slowest single platform.

The sandbox answers every request after 300 ms, so each platform's check
costs its number of calls times 300 ms (GitHub and Telegram make three
calls, Reddit two).  Checked concurrently, the whole preflight should take
about as long as the slowest platform alone.  Target: at most 1.5x.

A figure to read, not a test: it never fails on a slow machine.

    python bench/preflight_latency.py [--latency 0.3] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

LIVE_PLATFORMS = ("github", "telegram", "x", "reddit", "discord")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    # Breaker warnings for the disabled hn would drown the figures.
    import logging
    logging.basicConfig(level=logging.ERROR)

    from marketing_ops.agents.preflight import run_preflight
    from marketing_ops.config.settings import load_settings
    from marketing_ops.moltbook import open_ledger
    from marketing_ops.sandbox.server import SandboxServer

    with SandboxServer() as sandbox:
        sandbox.set_latency(options.latency)
        urls = sandbox.platform_urls()
        # A live X check, so X makes a real call like the others.
        urls["x"]["live_preflight"] = True
        config = {"request_timeout_seconds": 10,
                  "preflight_timeout_seconds": 20,
                  "platforms": {**urls, "hn": {}}}

        def timed(platforms) -> float:
            # A fresh state folder each time: no breaker from a previous
            # run may make a check skip its calls.
            state = Path(tempfile.mkdtemp())
            settings = load_settings(state, state, environ=sandbox.env())
            with open_ledger(settings) as ledger:
                started = time.perf_counter()
                results = run_preflight(settings, config, ledger,
                                        platforms=platforms)
                elapsed = time.perf_counter() - started
            failed = [r.line() for r in results
                      if not r.ok and r.platform != "hn"]
            if failed:
                raise SystemExit("preflight failed: " + "; ".join(failed))
            return elapsed

        single = {p: statistics.median(timed([p]) for _ in
                                       range(options.runs))
                  for p in LIVE_PLATFORMS}
        everything = statistics.median(timed(None) for _ in
                                       range(options.runs))

    slowest = max(single, key=single.get)
    print(f"sandbox latency per request: {options.latency * 1000:.0f} ms, "
          f"median of {options.runs} runs")
    for platform, seconds in single.items():
        print(f"  {platform:<9} alone: {seconds:6.3f} s")
    print(f"all 6 platforms:        {everything:6.3f} s")
    print(f"slowest alone ({slowest}): {single[slowest]:6.3f} s")
    print(f"ratio all/slowest:      {everything / single[slowest]:6.2f}x "
          "(target <= 1.5x)")
    print(f"sum of singles:         {sum(single.values()):6.3f} s "
          "(what checking one after another would cost)")


if __name__ == "__main__":
    main()
