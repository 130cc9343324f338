"""Waiting for a condition: poll it until a deadline, never sleep a fixed time and hope."""
from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Call *predicate* every *interval* seconds until it is true or *timeout* seconds have
    passed; True if it came true. It is asked once more at the deadline, so a condition that
    comes true during the last pause is not missed: ``assert wait_until(lambda: done(), 30)``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
