"""The reliability proofs drive the same code as the scripts in scripts/
(fault matrix, crash harness, concurrency, kill switch under load), with
smaller samples, so the repository root must be importable."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
