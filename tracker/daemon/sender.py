"""The sender in a process of its own, so composing and sending mail does not share one
interpreter lock with the mailbox watcher: during a backlog both run at once, on two cores.

The daemon starts it (`SenderProcess`) and tells it when to look at the outbox (a message on
a pipe), and, through shared memory without locks, whether this instance holds the mailbox
(`holds`: only the holder sends), whether the watcher is recording mail (`recording`: see
`Backlog`) and when to finish (`finish`). It reads its partnership's
config file itself and sends as the daemon's instance. It dies with the daemon: the kernel
kills it when the daemon dies (PR_SET_PDEATHSIG), so a daemon killed with -9 never leaves a
sender behind that could send what the next daemon sends. Signals aimed at the whole group
(SIGTERM from systemd, Ctrl-C) are left to the daemon, which finishes in order: the
watcher's last batch first, then the sender's last flush.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
from typing import Callable

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0  # how often the sender looks for retries that have come due
HOLD_SECONDS = 30.0  # the longest sending waits while the watcher records a backlog
PR_SET_PDEATHSIG = 1
_SPAWN = multiprocessing.get_context("spawn")  # never fork a process that has threads


class Flag:
    """A yes/no shared with the sender process, without locks: a process killed with -9
    while holding a lock (multiprocessing.Event has one) would leave it held for ever, and
    the daemon would hang on its next wake."""

    def __init__(self) -> None:
        self._value = _SPAWN.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def clear(self) -> None:
        self._value.value = 0

    def is_set(self) -> bool:
        return bool(self._value.value)


class Backlog:
    """Sending waits while the watcher records a backlog (`recording` is set), for at most
    HOLD_SECONDS: on a small machine the two compete for the cores and, on SQLite, for the
    one write lock, and a case recorded is what must not wait. The watcher wakes the sender
    as soon as it is done; one message at a time is never held, as it is done at once.
    `monotonic` is the caller's clock, in seconds."""

    def __init__(self, recording, monotonic: Callable[[], float]) -> None:
        self.recording, self.monotonic = recording, monotonic
        self._since: float | None = None

    def holds_back(self) -> bool:
        if not self.recording.is_set():
            self._since = None
            return False
        if self._since is None:
            self._since = self.monotonic()
        return self.monotonic() - self._since < HOLD_SECONDS


class SenderProcess:
    """The daemon's handle on its sender process."""

    def __init__(self, config_path: str, instance: str, log_level: str):
        self.args = (config_path, instance, log_level)
        self.holds, self.finish, self.recording = Flag(), Flag(), Flag()
        # a pipe to wake it: each message on it is a wake; nothing a killed process can leave locked
        self._woken, self._waker = _SPAWN.Pipe(duplex=False)
        os.set_blocking(self._waker.fileno(), False)
        self.process: multiprocessing.process.BaseProcess | None = None

    def start(self) -> None:
        """Start (or restart) it. Call from a thread that lives as long as the daemon: the
        kernel's parent-death signal follows the thread that started the process."""
        self.process = _SPAWN.Process(target=main, name="escalations-sender", daemon=False,
                                      args=(*self.args, os.getpid(), self._woken, self.holds, self.finish,
                                            self.recording))
        self.process.start()

    def wake(self) -> None:
        try:
            self._waker.send_bytes(b"")  # 4 bytes: written whole or not at all
        except BlockingIOError:
            pass  # the pipe is full of wakes already

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self, timeout: float) -> None:
        """Let it send what it can, and wait for it (killed if it takes longer than `timeout`)."""
        self.finish.set()
        self.wake()
        if self.process is not None:
            self.process.join(timeout)
            if self.process.is_alive():
                log.error("the sender did not finish within %.0f s; stopped it", timeout)
                self.process.kill()
                self.process.join(5)


def main(config_path: str, instance: str, log_level: str, parent: int, woken, holds: Flag, finish: Flag,
         recording: Flag) -> None:
    _die_with(parent)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)  # the daemon says when to finish (see the module doc)
    from tracker.config.load import load_config
    from tracker.daemon.app import App, open_transport
    from tracker.daemon.clock import SystemClock
    from tracker.daemon.logs import configure, for_partnership

    configure(log_level)
    app = App.from_config(load_config(config_path), SystemClock())  # this process's one real clock
    for_partnership(app.partnership.id)
    app.instance = instance
    loop = asyncio.new_event_loop()
    transport = open_transport(app.partnership.outgoing, app.clock)
    backlog = Backlog(recording, app.clock.monotonic)
    try:
        while not finish.is_set() and os.getppid() == parent:
            _wait(woken)
            if holds.is_set() and not finish.is_set() and not backlog.holds_back():
                loop.run_until_complete(_flush(app, transport))
        if holds.is_set() and os.getppid() == parent:
            loop.run_until_complete(_flush(app, transport))  # what the last batch queued
    finally:
        loop.run_until_complete(transport.close())
        loop.close()


def _wait(woken) -> None:
    """Until woken (every wake so far taken at once) or RETRY_SECONDS pass."""
    if woken.poll(RETRY_SECONDS):
        while woken.poll(0):
            woken.recv_bytes()


async def _flush(app, transport) -> None:
    try:
        await app.flush(transport)
    except Exception:  # noqa: BLE001 - the outbox keeps every row; try again on the next round
        log.exception("sending failed; will retry")


def _die_with(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies; if the parent is already
    gone (it died while this one started), stop now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)
