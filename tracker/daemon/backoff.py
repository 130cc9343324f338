"""How long to wait before trying again after a failure (a mailbox or database away, a sender
process that died at start)."""
from __future__ import annotations

import random

MAX_BACKOFF_SECONDS = 300.0


def backoff(failures: int) -> float:
    """Exponential with full jitter, so many daemons never reconnect in step: 0.5–1 s after the
    first failure, doubling, never more than MAX_BACKOFF_SECONDS."""
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(failures, 10))
