"""What the benchmarks share: the fixture sets and a one-line figure printer."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
AS_OF = dt.date(2026, 11, 24)


def fixture_sets() -> list[Path]:
    """Every fixture folder that has a library, prospects and labels."""
    return sorted(p.parent for p in FIXTURES.glob("*/labels.yaml"))


def p50_ms(run: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
