"""What every benchmark prints beside its figures: the command that produced them, and
percentiles of its samples."""
from __future__ import annotations

import sys


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def command_line() -> str:
    """How this benchmark was started, to print next to its figures."""
    return " ".join(["python", *sys.argv])
