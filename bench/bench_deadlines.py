"""How long one deadline takes: `python bench/bench_deadlines.py [N]` (default 1,000,000).

Computes N deadlines (WorkingCalendar.due) over random raise times in 2025-2028 with the
working-day counts the Wolverhampton preset uses, and sets them beside two floors measured in
the same run on the same inputs: numpy's vectorised busday_offset (dates only, no time zone
or close-of-business rule) and a bare Python loop of date arithmetic (the interpreter's cost
of one call per deadline). Prints per-deadline times, totals and the command that made them.
"""
from __future__ import annotations

import gc
import platform
import random
import shlex
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tracker.policy.calendar import WorkingCalendar  # noqa: E402
from tracker.policy.build import PRESETS  # noqa: E402


def inputs(n: int, seed: int = 20261224) -> list[tuple[datetime, int]]:
    rng = random.Random(seed)
    start, seconds = datetime(2025, 1, 1, tzinfo=timezone.utc), 4 * 365 * 86400
    counts = [0] + [c for _, c in PRESETS["wolverhampton"].cumulative()]
    return [(start + timedelta(seconds=rng.randrange(seconds)), rng.choice(counts)) for _ in range(n)]


def timed(fn) -> tuple[float, object]:
    """Wall time of fn(), the collector paused so that a million results do not time the GC."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        result = fn()
        return time.perf_counter() - t0, result
    finally:
        gc.enable()


def main(argv: list[str]) -> None:
    n = int(argv[1].replace(",", "").replace("_", "")) if len(argv) > 1 else 1_000_000
    cal = WorkingCalendar()
    data = inputs(n)
    cal.due(data[0][0], 0)  # build the span of working days once, outside the timing
    due = cal.due
    ours, dues = timed(lambda: [due(r, k) for r, k in data])

    days = np.array([cal.local(r).date() for r, _ in data], dtype="datetime64[D]")  # numpy has no zones
    ks = np.array([k for _, k in data])
    hols = np.array(sorted(d for d in _holidays(cal)), dtype="datetime64[D]")
    numpy_floor, np_dates = timed(lambda: np.busday_offset(days, ks, roll="forward", holidays=hols))
    bare_floor, _ = timed(lambda: [r + timedelta(days=k) for r, k in data])

    sample = range(0, n, max(1, n // 2000))  # spot check: same due dates wherever numpy's rule is ours
    agree = all(cal.local(dues[i]).date() == np_dates[i].astype(object) for i in sample
                if cal.local(data[i][0]).hour < 17 and cal.is_working_day(cal.local(data[i][0]).date()))

    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"python {platform.python_version()} on {platform.machine()}, {n:,} deadlines, "
          f"spot check against numpy: {'agrees' if agree else 'DISAGREES'}")
    for label, seconds in (("WorkingCalendar.due", ours), ("floor: numpy busday_offset (vectorised)", numpy_floor),
                           ("floor: bare loop of date arithmetic", bare_floor)):
        print(f"{label:<42} {seconds / n * 1e6:8.3f} us/deadline   total {seconds:8.3f} s")


def _holidays(cal: WorkingCalendar):
    d = datetime(2025, 1, 1).date()
    while d.year < 2031:
        if d.weekday() < 5 and not cal.is_working_day(d):
            yield d
        d += timedelta(days=1)


if __name__ == "__main__":
    main(sys.argv)
