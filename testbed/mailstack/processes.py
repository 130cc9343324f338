"""Starting, waiting for and stopping the daemonised masters of Dovecot and Postfix.

Both masters daemonise: they setsid() and keep inherited descriptors, so the daemons are
started with stdin/stdout/stderr detached (``/dev/null`` / a log file; a pipe to them would
never reach EOF) and are followed afterwards through their pid files and /proc.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path

from testbed.mailstack.requirements import MailStackError
from testbed.wait import wait_until

STOP_TIMEOUT = 10.0


def free_ports(n: int, host: str) -> list[int]:
    """*n* distinct ports the kernel reports free right now (bind to port 0, then release)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def wait_port(host: str, port: int, timeout: float) -> None:
    if not wait_until(lambda: accepts(host, port), timeout, interval=0.01):
        raise MailStackError(f"nothing accepts connections on {host}:{port} after {timeout} s")


def alive(pid: int | None) -> bool:
    """True while *pid* exists and is not a zombie (PID 1 may be slow to reap orphans)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def session_members(sid: int) -> list[int]:
    """Live processes of session *sid*; both masters setsid() when they daemonise."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields: state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):
            pids.append(int(entry))
    return pids


def title(pid: int) -> str:
    """The process title of *pid* (its command line as /proc shows it), "" once it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().split()
    except OSError:
        return None
    return int(text[0]) if text and text[0].isdigit() else None


def wait_new_pid(read: Callable[[], int | None], previous: int | None, name: str, timeout: float = 10) -> None:
    """Until the master has written a pid file naming a live process other than *previous*:
    its listeners exist before the daemonised master has written its new pid file."""
    def written() -> bool:
        pid = read()
        return bool(pid and pid != previous and alive(pid))

    if not wait_until(written, timeout, interval=0.01):
        raise MailStackError(f"{name} master did not write a new pid file within {timeout} s")


def stop_masters(pids: list[int]) -> None:
    """SIGTERM every master at once, then wait for all; SIGKILL what outlives STOP_TIMEOUT,
    and any child of theirs still alive (children normally exit with their master)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not any(alive(pid) for pid in pids), STOP_TIMEOUT, interval=0.02)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wait_until(lambda sid=pid: not session_members(sid), 2, interval=0.02)
        for child in session_members(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
