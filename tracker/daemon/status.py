"""Liveness for a monitor: a heartbeat file the daemon rewrites, and `escalations status`.

Both sides read the real clock (App.clock), never the service's own time (App.now, which a
test or the demo may set): liveness is about the process, now. A beat stamped later than
now is not fresh: the clock was set back, or the file is not this daemon's.
"""
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
    now = app.clock.now()
    path: Path = app.config.daemon.heartbeat_file
    reached = now.isoformat() if mailbox_reached else _read(path).get("mailbox_reached_at")
    state = {
        "pid": os.getpid(), "host": socket.gethostname(), "partnership": app.partnership.id,
        "alive_at": now.isoformat(), "mailbox_reached_at": reached,
        "outbox_pending": pending_count(app.engine),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, state)


def stopped(app) -> None:
    """Mark the heartbeat as a clean stop, so `status` says so at once instead of "alive"
    for the minutes until the last beat goes stale."""
    path: Path = app.config.daemon.heartbeat_file
    state = _read(path)
    if state.get("pid") != os.getpid():
        return  # another instance's beat: not ours to end
    state["stopped_at"] = app.clock.now().isoformat()
    _write(path, state)


def _write(path: Path, state: dict) -> None:
    """Replace the heartbeat file whole (a reader never sees half of it), owner-only."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _gone(state: dict) -> bool:
    """Is the beat's process known to be gone? Only answerable on the host that wrote it."""
    if state.get("host") != socket.gethostname() or not isinstance(state.get("pid"), int):
        return False
    try:
        os.kill(state["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but another user's
        return False
    return False


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


def _hint(config) -> str:
    """Run by hand beside a daemon under systemd, this command has no $STATE_DIRECTORY: say so
    when the state directory is the checkout's default."""
    if config.state_dir is None or config.state_dir != config.path.resolve().parent / "var":
        return ""
    return (" (the state directory is var/ beside the config: for a daemon under systemd or in a container "
            "give this command its state directory too, with [state] dir or $ESCALATIONS_STATE_DIR)")


def report(app) -> tuple[bool, str]:
    """(healthy, one line a person or a monitor reads)."""
    path: Path = app.config.daemon.heartbeat_file
    pending = pending_count(app.engine)
    state = _read(path)
    if not state:
        return False, f"not running: no heartbeat at {path}{_hint(app.config)}; outbox pending {pending}"
    try:
        alive = datetime.fromisoformat(state["alive_at"])
        age = app.clock.now() - alive
        who = f"pid {state['pid']} on {state['host']}"
    except (KeyError, TypeError, ValueError):
        return False, f"not running: the heartbeat at {path} is not one the daemon wrote; outbox pending {pending}"
    reached = _local(app, state.get("mailbox_reached_at"))
    if state.get("partnership") not in (None, app.partnership.id):
        return False, (f"not running: the heartbeat at {path} is partnership {state['partnership']!r}'s, not "
                       f"{app.partnership.id!r}'s: give each partnership its own heartbeat_file; outbox pending {pending}")
    if state.get("stopped_at"):
        return False, (f"not running: {who} stopped cleanly at {_local(app, state['stopped_at'])}; "
                       f"mailbox last reached {reached}; outbox pending {pending}")
    if _gone(state):
        return False, f"not running: {who} has ended without a clean stop; outbox pending {pending}"
    if age < timedelta(0):
        return False, (f"STALE: {who}, last beat stamped {int(-age.total_seconds())} s in the future (the clock "
                       f"was set back, or {path} is not this daemon's); outbox pending {pending}")
    healthy = age <= STALE_AFTER
    return healthy, (f"{'alive' if healthy else 'STALE'}: {who}, last beat "
                     f"{int(age.total_seconds())} s ago; mailbox last reached {reached}; outbox pending {pending}")
