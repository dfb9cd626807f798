"""CLI cold start beside the bare interpreter, measured in the same run.

Prints the median of N runs of each command, in milliseconds, and the ratio
to ``python3 -c pass``.  Target: ``--help`` within 4x the bare interpreter.
A figure to read, not a test: it never fails on a slow machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 15


def median_ms(command: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    scratch = tempfile.mkdtemp()
    cli = [sys.executable, "-m", "marketing_ops.cli", "--config-dir",
           scratch, "--state-dir", scratch]
    baseline = median_ms([sys.executable, "-c", "pass"])
    rows = [("python3 -c pass", baseline)]
    for label, args in (("marketing-ops --help", ["--help"]),
                        ("marketing-ops status", ["status"]),
                        ("marketing-ops events", ["events"])):
        rows.append((label, median_ms(cli + args)))

    print(f"CLI cold start, median of {RUNS} runs "
          f"(Python {sys.version.split()[0]}):")
    for label, ms in rows:
        print(f"  {label:<24} {ms:7.1f} ms  {ms / baseline:4.1f}x")
    print("  target: --help within 4.0x of python3 -c pass")


if __name__ == "__main__":
    main()
