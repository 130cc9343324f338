"""The long-running service.

Three things run side by side, all reading and writing through the database:
- a mailbox watcher thread: holds IMAP IDLE (or polls where the server has none), records
  new mail (a backlog in batches of up to 50 messages, one transaction each), then wakes
  the sender; reconnects with exponential backoff and jitter, and on reconnect handles
  whatever arrived meanwhile;
- the sender: drains the outbox over one reused SMTP connection when woken, and retries
  temporary failures on a timer, holding back while a backlog is being recorded (for at
  most half a minute, sender.Backlog); a process of its own under `escalations run`
  (tracker.daemon.sender), a task in this event loop otherwise;
- APScheduler (3.x, in this event loop): the deadline sweep every minute and the weekly
  digest, with a catch-up at start for a digest missed while the service was down.
SIGTERM finishes the message in hand, flushes what can be sent, and exits.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import socket
import threading
import time
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mailer.inbox import Inbox
from tracker.storage import lease
from tracker.daemon.app import App, open_inbox, open_transport
from tracker.daemon.sender import RETRY_SECONDS as SENDER_RETRY_SECONDS, Backlog, SenderProcess

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
LEASE_RENEW_SECONDS = 5.0  # the lease lasts 15 s: a standby takes over within seconds of a death
LEASE_RETRY_SECONDS = 3.0
SENDER_STOP_SECONDS = 120.0  # a stopping daemon waits this long for the sender's last flush
SENDER_STEADY_SECONDS = 60.0  # a sender that lived this long before it ended starts a new count


def backoff(failures: int) -> float:
    """Exponential with full jitter: many daemons never reconnect in step."""
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(failures, 10))


class Daemon:
    def __init__(self, app: App, sender_process: bool = False):
        """`sender_process`: send from a process of its own (tracker.daemon.sender), as `escalations
        run` does; otherwise from a task in this process (tests that drive the app's clock)."""
        self.app = app
        self.sweep_seconds = app.config.daemon.sweep_seconds
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.sender = SenderProcess(str(app.config.path), app.instance, app.config.log_level) \
            if sender_process else None
        # shared with the sender process, which sends only while this instance holds the mailbox
        self.holds_lease = self.sender.holds if self.sender else threading.Event()
        self.recording = self.sender.recording if self.sender else threading.Event()  # see sender.Backlog
        self.lease_name = f"mailbox:{app.partnership.id}"
        self._renewed = 0.0
        self._jobs: list = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # --- entry points ----------------------------------------------------------------------
    def run(self) -> None:
        asyncio.run(self.main())

    def stop(self, *_args) -> None:
        log.info("stopping: finishing the message in hand")
        self.stopping.set()
        self.wake_sender()

    async def main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        scheduler = self._scheduler()
        scheduler.start()
        if self.sender:
            self.sender.start()  # from this thread, which lives as long as the daemon
        watcher = threading.Thread(target=self.watch, name="mailbox-watcher", daemon=True)
        watcher.start()
        try:
            await (self.supervise_sender() if self.sender else self.send_loop())
        finally:
            scheduler.shutdown(wait=False)
            await asyncio.to_thread(watcher.join, 30)
            for job in self._jobs:  # work started from the watcher finishes before the last flush
                await asyncio.wrap_future(job)
            if self.sender:
                await asyncio.to_thread(self.sender.stop, SENDER_STOP_SECONDS)  # its last flush
            elif self.holds_lease.is_set():
                await self._flush_once()
            if self.holds_lease.is_set():
                lease.release(self.app.engine, self.lease_name, self.app.instance)
                self.holds_lease.clear()

    # --- scheduling ------------------------------------------------------------------------
    def _scheduler(self) -> AsyncIOScheduler:
        """Triggers run on real time; the jobs read the app's clock for what is due."""
        p = self.app.partnership
        scheduler = AsyncIOScheduler(event_loop=self._loop, timezone=str(p.calendar.tz))
        scheduler.add_job(self.sweep_job, IntervalTrigger(seconds=self.sweep_seconds), id="sweep",
                          next_run_time=self.app.clock.now(), coalesce=True, max_instances=1)
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        scheduler.add_job(self.digest_job, CronTrigger(day_of_week=days[p.digest_day], hour=p.digest_time.hour,
                                                       minute=p.digest_time.minute, timezone=str(p.calendar.tz)),
                          id="digest", coalesce=True, max_instances=1, misfire_grace_time=None)
        scheduler.add_job(self.retention_job, CronTrigger(hour=3, minute=17, timezone=str(p.calendar.tz)),
                          id="retention", coalesce=True, max_instances=1, misfire_grace_time=None)
        scheduler.add_job(self.heartbeat_job, IntervalTrigger(seconds=15), id="heartbeat",
                          next_run_time=self.app.clock.now(), coalesce=True, max_instances=1)
        return scheduler

    async def retention_job(self) -> None:
        if self.holds_lease.is_set() and not self.stopping.is_set():
            purged = await asyncio.to_thread(self.app.purge)
            if purged:
                log.info("retention: purged %d closed case(s)", len(purged))

    async def heartbeat_job(self) -> None:
        if not self.stopping.is_set():  # no new work while the event loop is being closed
            await asyncio.to_thread(self.app.heartbeat, self.connected.is_set())

    async def sweep_job(self) -> None:
        if not self.holds_lease.is_set() or self.stopping.is_set():
            return  # only the instance holding the mailbox decides deadlines: no double notices
        touched = await asyncio.to_thread(self.app.sweep)
        if touched:
            self.wake_sender()

    async def digest_job(self) -> None:
        if not self.holds_lease.is_set():
            return
        week = await asyncio.to_thread(self.app.digest_catch_up)
        if week:
            log.info("weekly digest queued for %s", week)
            self.wake_sender()

    # --- the mailbox watcher (a thread: imapclient blocks) ---------------------------------
    def watch(self) -> None:
        """Hold the partnership's mailbox lease, then serve the mailbox; wait as a standby
        while another instance holds it."""
        failures = 0
        while not self.stopping.is_set():
            try:
                held = self._hold_lease()
            except Exception as exc:  # noqa: BLE001 - the database is away: the watcher must outlive it
                failures += 1
                self._pause(backoff(failures), f"cannot reach the database for the mailbox lease ({type(exc).__name__})")
                continue
            if not held:
                self.stopping.wait(LEASE_RETRY_SECONDS)
                continue
            try:
                inbox = open_inbox(self.app.partnership.inbox, self.app.clock)
            except Exception as exc:  # noqa: BLE001 - any connection trouble: back off and retry
                failures += 1
                self._pause(backoff(failures), f"cannot reach the mailbox ({type(exc).__name__}: {str(exc)[:300]})")
                continue
            failures = 0
            self.connected.set()
            try:
                self._serve(inbox)
            except Exception as exc:  # noqa: BLE001
                failures += 1
                self._pause(backoff(failures), f"mailbox connection lost ({type(exc).__name__})")
            finally:
                self.connected.clear()
                inbox.close()

    def _hold_lease(self) -> bool:
        """Take or renew the lease; on taking it over, reclaim mail the last holder left."""
        had = self.holds_lease.is_set()
        if self._acquire():
            self._renewed = self.app.clock.monotonic()
            if not had:
                lease.reclaim_unsent(self.app.engine, self.app.partnership.id)
                self.holds_lease.set()
                log.info("holding the mailbox for %s", self.app.partnership.id)
                self._on_loop(self.digest_job)
                self.wake_sender()
            return True
        if had:
            log.warning("lost the mailbox lease to another instance; standing by")
        self.holds_lease.clear()
        return False

    def _acquire(self) -> bool:
        """Take or renew the lease. A holder that died on this host (kill -9, a crash, the OOM
        killer) is replaced at once rather than after its lease lapses: a restart by systemd
        should not leave the mailbox unserved for the lease's lifetime."""
        engine, name, me = self.app.engine, self.lease_name, self.app.instance
        if lease.acquire(engine, name, me, self.app.clock.now()):
            return True
        holder = lease.holder(engine, name)
        if holder and died_on_this_host(holder):
            log.warning("the last holder of the mailbox died on this host; taking over now")
            lease.release(engine, name, holder)  # deletes only that holder's row: races are safe
            return lease.acquire(engine, name, me, self.app.clock.now())
        return False

    def _leave(self) -> bool:
        """Asked between messages and every IDLE slice: stop, or lost the lease?"""
        if self.stopping.is_set():
            return True
        if self.app.clock.monotonic() - self._renewed >= LEASE_RENEW_SECONDS:
            return not self._hold_lease()
        return False

    def _serve(self, inbox: Inbox) -> None:
        while not self._leave():
            self.recording.set()
            try:
                moved = self.app.ingest(inbox, should_stop=self._leave)
            finally:
                self.recording.clear()
            if moved:
                self.wake_sender()
            self._wait_for_mail(inbox)

    def _wait_for_mail(self, inbox: Inbox) -> None:
        inbox.wait_for_mail(self.app.partnership.inbox.poll_seconds, stop=self._leave, sleep=self.stopping.wait)

    def _pause(self, seconds: float, why: str) -> None:
        log.warning("%s; retrying in %.1f s", why, seconds)
        self.stopping.wait(seconds)

    # --- the sender ------------------------------------------------------------------------
    def _on_loop(self, job) -> None:
        if self._loop is not None:
            self._jobs.append(asyncio.run_coroutine_threadsafe(job(), self._loop))

    def wake_sender(self) -> None:
        if self.sender:
            self.sender.wake()
        elif self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def supervise_sender(self) -> None:
        """Keep the sender process running until the daemon stops. One that keeps dying at
        start (its database unreachable, say) is started again with growing pauses, not in
        a loop that would spend a core on starting interpreters. The mail a dead sender had
        claimed is put back at once (else it would wait for the claim to time out, ten
        minutes): while this instance holds the mailbox, no other sends for it."""
        failures, started = 0, self.app.clock.monotonic()
        while not self.stopping.is_set():
            await asyncio.sleep(0.5)
            if self.sender.alive() or self.stopping.is_set():
                continue
            failures = failures + 1 if self.app.clock.monotonic() - started < SENDER_STEADY_SECONDS else 1
            pause = backoff(failures)
            log.error("the sender process ended (exit code %s); starting another in %.1f s",
                      self.sender.process.exitcode if self.sender.process else None, pause)
            if await asyncio.to_thread(self.stopping.wait, pause):
                break
            if self.holds_lease.is_set():  # what it had claimed goes back: nobody else sends for us
                try:
                    await asyncio.to_thread(lease.reclaim_unsent, self.app.engine, self.app.partnership.id)
                except Exception:  # noqa: BLE001 - the database is away: the claims time out instead
                    log.exception("could not put back the mail the sender had claimed")
            self.sender.start()
            started = self.app.clock.monotonic()

    async def send_loop(self) -> None:
        transport = open_transport(self.app.partnership.outgoing, self.app.clock)
        backlog = Backlog(self.recording, self.app.clock.monotonic)
        try:
            while not self.stopping.is_set():
                try:
                    await asyncio.wait_for(self._wake.wait(), SENDER_RETRY_SECONDS)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
                if self.holds_lease.is_set() and not backlog.holds_back():
                    await self._send(transport)
        finally:
            await transport.close()

    async def _send(self, transport) -> None:
        try:
            await self.app.flush(transport)
        except Exception:  # noqa: BLE001 - the outbox keeps every row; try again on the next round
            log.exception("sending failed; will retry")

    async def _flush_once(self) -> None:
        try:
            await self.app.send_all()
        except Exception:  # noqa: BLE001 - stopping: what is not sent now goes at the next start
            log.exception("sending at stop failed; the outbox keeps it")


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


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Small helper for callers that start a daemon in the background (tests, benchmarks)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
