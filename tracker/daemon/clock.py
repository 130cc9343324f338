"""Real time, read in one place.

`SystemClock` is the only code of the service that reads the real clock. The command line
and the daemon build one and hand it down (App.clock); nothing deeper asks the system what
time it is. Two kinds of time come from it:

- `now()`: the moment, aware UTC, for what is shared between processes and hosts (the
  mailbox lease) and for when a case's deadlines fall due, unless the caller has set the
  service's time itself (App.now: a test's clock, the demo's simulated days);
- `monotonic()`: seconds that never jump, for intervals (renewing the lease, poll timers,
  how long sending has held back, when a sign-in token is replaced).

A test passes its own: any object with these two methods.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The moment, aware UTC: `now().tzinfo is timezone.utc`."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never goes back: only differences mean anything."""


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


def set_at(clock: Clock, moment: datetime):
    """The service's time (App.now) for a rehearsal (`escalations --now ...`): `moment`, moving
    on with `clock` from the call. Real time stays real (the lease, timers, tokens)."""
    start = clock.monotonic()
    moment = moment.astimezone(timezone.utc)

    def now() -> datetime:
        return moment + timedelta(seconds=clock.monotonic() - start)

    return now
