"""The few statistics the benchmarks in bench/ print: percentile, median, PASS/MISS."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The value below which a share `q` of `values` lies (nearest rank; 0.0 if none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def med(values: Sequence[float]) -> float:
    """The median, 0.0 if there are no values."""
    return statistics.median(values) if values else 0.0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
