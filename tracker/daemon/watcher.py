"""The mailbox watcher (a thread: imapclient blocks) and the lease that lets one instance
hold the partnership's mailbox.

The watcher takes the lease, then serves the mailbox: records new mail (a backlog in batches,
one transaction each; see App.ingest), wakes the sender, and waits for more (IMAP IDLE, or a
poll). It reconnects with exponential backoff and jitter, and on reconnect handles whatever
arrived meanwhile. While another instance holds the lease it waits as a standby.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import Callable

from mailer.inbox import Inbox
from tracker.daemon.app import App, open_inbox
from tracker.daemon.backoff import backoff
from tracker.daemon.logs import for_partnership
from tracker.storage import lease

log = logging.getLogger(__name__)

LEASE_RENEW_SECONDS = 5.0  # the lease lasts 15 s: a standby takes over within seconds of a death
LEASE_RETRY_SECONDS = 3.0


class MailboxLease:
    """This instance's hold on the partnership's mailbox, its deadlines and its digest.
    `held` is shared with the sender process, which sends only while it is set;
    `on_taken()` runs each time this instance takes the mailbox over."""

    def __init__(self, app: App, held, on_taken: Callable[[], None]):
        self.app, self.held, self.on_taken = app, held, on_taken
        self.name = f"mailbox:{app.partnership.id}"
        self._renewed = 0.0

    def hold(self) -> bool:
        """Take or renew the lease; on taking it over, reclaim mail the last holder left."""
        had = self.held.is_set()
        if not self._acquire():
            if had:
                log.warning("lost the mailbox lease to another instance; standing by")
            self.held.clear()
            return False
        self._renewed = self.app.clock.monotonic()
        if not had:
            lease.reclaim_unsent(self.app.engine, self.app.partnership.id)
            self.held.set()
            log.info("holding the mailbox for %s", self.app.partnership.id)
            self.on_taken()
        return True

    def renewal_due(self) -> bool:
        return self.app.clock.monotonic() - self._renewed >= LEASE_RENEW_SECONDS

    def release(self) -> None:
        if self.held.is_set():
            lease.release(self.app.engine, self.name, self.app.instance)
            self.held.clear()

    def _acquire(self) -> bool:
        """Take or renew the lease. A holder that died on this host (kill -9, a crash, the OOM
        killer) is replaced at once rather than after its lease lapses: a restart by systemd
        should not leave the mailbox unserved for the lease's lifetime."""
        engine, name, me = self.app.engine, self.name, self.app.instance
        if lease.acquire(engine, name, me, self.app.clock.now()):
            return True
        holder = lease.holder(engine, name)
        if holder and died_on_this_host(holder):
            log.warning("the last holder of the mailbox died on this host; taking over now")
            lease.release(engine, name, holder)  # deletes only that holder's row: races are safe
            return lease.acquire(engine, name, me, self.app.clock.now())
        return False


class MailboxWatcher:
    """`run()` until `stopping` is set. `recording` is set while mail is being recorded (the
    sender holds back meanwhile, see sender.Backlog); `connected` while the mailbox is open."""

    def __init__(self, app: App, mailbox: MailboxLease, stopping: threading.Event, recording,
                 wake_sender: Callable[[], None]):
        self.app, self.mailbox, self.stopping, self.recording = app, mailbox, stopping, recording
        self.wake_sender = wake_sender
        self.connected = threading.Event()

    def run(self) -> None:
        """Hold the partnership's mailbox lease, then serve the mailbox; wait as a standby
        while another instance holds it."""
        for_partnership(self.app.partnership.id)  # a thread of its own: its log lines name it too
        failures = 0
        while not self.stopping.is_set():
            try:
                held = self.mailbox.hold()
            except Exception as exc:  # noqa: BLE001 - the database is away: the watcher must outlive it
                failures += 1
                self._pause(backoff(failures), "cannot reach the database for the mailbox lease", exc)
                continue
            if not held:
                self.stopping.wait(LEASE_RETRY_SECONDS)
                continue
            try:
                inbox = open_inbox(self.app.partnership.inbox, self.app.clock)
            except Exception as exc:  # noqa: BLE001 - any connection trouble: back off and retry
                failures += 1
                self._pause(backoff(failures), "cannot reach the mailbox", exc)
                continue
            failures = 0 if self._serve_until_lost(inbox) else 1

    def leave(self) -> bool:
        """Asked between messages and every IDLE slice: stop, or lost the lease?"""
        if self.stopping.is_set():
            return True
        if self.mailbox.renewal_due():
            return not self.mailbox.hold()
        return False

    def _serve_until_lost(self, inbox: Inbox) -> bool:
        """Serve `inbox` until told to leave (True) or the connection fails (False, after a pause)."""
        self.connected.set()
        try:
            self._serve(inbox)
            return True
        except Exception as exc:  # noqa: BLE001
            self._pause(backoff(1), "mailbox connection lost", exc)
            return False
        finally:
            self.connected.clear()
            inbox.close()

    def _serve(self, inbox: Inbox) -> None:
        poll = self.app.partnership.inbox.poll_seconds
        while not self.leave():
            self.recording.set()
            try:
                moved = self.app.ingest(inbox, should_stop=self.leave)
            finally:
                self.recording.clear()
            if moved:
                self.wake_sender()
            inbox.wait_for_mail(poll, stop=self.leave, sleep=self.stopping.wait)

    def _pause(self, seconds: float, why: str, exc: Exception) -> None:
        """Log why (the error's reason as tracker.daemon.logs gives it), then wait."""
        log.warning("%s; retrying in %.1f s", why, seconds, exc_info=exc)
        self.stopping.wait(seconds)


def died_on_this_host(holder: str) -> bool:
    """True for an instance id of this host ("host:pid:nonce", see lease.instance_id) whose
    process is gone. Anything else (another host, a live or unknown process) is left to
    lapse: when in doubt, wait."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie (killed, not yet reaped by its parent) is dead too
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] in (b"Z", b"X")
    except OSError:
        return False
