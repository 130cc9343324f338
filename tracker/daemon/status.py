"""Liveness for a monitor: a heartbeat file the daemon rewrites, and `escalations status`."""
from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path

from tracker.outgoing.outbox import pending_count

STALE_AFTER = timedelta(minutes=2)


def beat(app, mailbox_reached: bool) -> None:
    """Rewrite the heartbeat file; the last time the mailbox was reached carries over."""
    now = app.now()
    path: Path = app.config.daemon.heartbeat_file
    reached = now.isoformat() if mailbox_reached else _read(path).get("mailbox_reached_at")
    state = {
        "pid": os.getpid(), "host": socket.gethostname(), "partnership": app.partnership.id,
        "alive_at": now.isoformat(), "mailbox_reached_at": reached,
        "outbox_pending": pending_count(app.engine),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _local(app, stamp: str | None) -> str:
    """A time from the heartbeat as people read it: in the partnership's zone."""
    try:
        return f"{app.partnership.calendar.local(datetime.fromisoformat(stamp)):%Y-%m-%d %H:%M:%S %Z}"
    except (TypeError, ValueError):
        return "never"


def report(app) -> tuple[bool, str]:
    """(healthy, one line a person or a monitor reads)."""
    path: Path = app.config.daemon.heartbeat_file
    pending = pending_count(app.engine)
    state = _read(path)
    if not state:
        return False, f"not running: no heartbeat at {path}; outbox pending {pending}"
    alive = datetime.fromisoformat(state["alive_at"])
    age = app.now() - alive
    healthy = age <= STALE_AFTER
    reached = _local(app, state.get("mailbox_reached_at"))
    return healthy, (f"{'alive' if healthy else 'STALE'}: pid {state['pid']} on {state['host']}, last beat "
                     f"{int(age.total_seconds())} s ago; mailbox last reached {reached}; outbox pending {pending}")
