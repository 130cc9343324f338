"""The long-running service.

Three things run side by side, all reading and writing through the database:
- a mailbox watcher thread (tracker.daemon.watcher): holds the partnership's mailbox lease,
  records new mail as it arrives, then wakes the sender;
- the sender (tracker.daemon.sending): drains the outbox over one reused SMTP connection when
  woken, and retries temporary failures on a timer, holding back while a backlog is being
  recorded (for at most half a minute, sender.Backlog); a process of its own under
  `escalations run` (tracker.daemon.sender), a task in this event loop otherwise;
- APScheduler (3.x, in this event loop): the deadline sweep every minute and the weekly
  digest, with a catch-up at start for a digest missed while the service was down.
SIGTERM finishes the message in hand, flushes what can be sent, and exits.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tracker.daemon import sending, status
from tracker.daemon.app import App
from tracker.daemon.logs import for_partnership
from tracker.daemon.sender import SenderProcess
from tracker.daemon.watcher import MailboxLease, MailboxWatcher
from tracker.digest.weeks import digest_trigger

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15


class Daemon:
    def __init__(self, app: App, sender_process: bool = False):
        """`sender_process`: send from a process of its own (tracker.daemon.sender), as `escalations
        run` does; otherwise from a task in this process (tests that drive the app's clock)."""
        self.app = app
        self.stopping = threading.Event()
        self.sender = SenderProcess(str(app.config.path), app.instance, app.config.log_level) \
            if sender_process else None
        # shared with the sender process, which sends only while this instance holds the mailbox
        self.holds_lease = self.sender.holds if self.sender else threading.Event()
        self.recording = self.sender.recording if self.sender else threading.Event()  # see sender.Backlog
        self.mailbox = MailboxLease(app, self.holds_lease, on_taken=self._taken)
        self.watcher = MailboxWatcher(app, self.mailbox, self.stopping, self.recording, self.wake_sender)
        self.connected = self.watcher.connected
        self._jobs: list = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    # --- entry points ----------------------------------------------------------------------
    def run(self) -> None:
        for_partnership(self.app.partnership.id)  # the event loop's tasks and threads inherit it
        asyncio.run(self.main())

    def stop(self, *_args) -> None:
        log.info("stopping: finishing the message in hand")
        self.stopping.set()
        self.wake_sender()

    async def main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._handle_signals()
        scheduler = self._scheduler()
        scheduler.start()
        if self.sender:
            self.sender.start()  # from this thread, which lives as long as the daemon
        with self.app.parsing():  # one parse worker for the daemon's life, closed when it ends
            watcher = threading.Thread(target=self.watcher.run, name="mailbox-watcher", daemon=True)
            watcher.start()
            try:
                await (self.supervise_sender() if self.sender else self.send_loop())
            finally:
                scheduler.shutdown(wait=False)
                await asyncio.to_thread(watcher.join, 30)
                await self._finish()

    def _handle_signals(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass

    async def _finish(self) -> None:
        """In order: work started from the watcher, the last flush, then the mailbox let go."""
        for job in self._jobs:
            await asyncio.wrap_future(job)
        if self.sender:
            await asyncio.to_thread(self.sender.stop, sending.SENDER_STOP_SECONDS)  # its last flush
        elif self.holds_lease.is_set():
            await sending.flush_once(self.app)
        self.mailbox.release()
        try:
            await asyncio.to_thread(status.stopped, self.app)
        except OSError as exc:
            log.error("the clean stop not marked in %s", self.app.config.daemon.heartbeat_file, exc_info=exc)

    # --- scheduling ------------------------------------------------------------------------
    def _scheduler(self) -> AsyncIOScheduler:
        """Triggers run on real time; the jobs read the app's `now` for what is due."""
        p, now = self.app.partnership, self.app.clock.now()
        scheduler = AsyncIOScheduler(event_loop=self._loop, timezone=str(p.calendar.tz))
        scheduler.add_job(self.sweep_job, IntervalTrigger(seconds=self.app.config.daemon.sweep_seconds),
                          id="sweep", next_run_time=now, coalesce=True, max_instances=1)
        scheduler.add_job(self.digest_job, digest_trigger(p),
                          id="digest", coalesce=True, max_instances=1, misfire_grace_time=None)
        scheduler.add_job(self.retention_job, CronTrigger(hour=3, minute=17, timezone=str(p.calendar.tz)),
                          id="retention", coalesce=True, max_instances=1, misfire_grace_time=None)
        scheduler.add_job(self.heartbeat_job, IntervalTrigger(seconds=HEARTBEAT_SECONDS), id="heartbeat",
                          next_run_time=now, coalesce=True, max_instances=1)
        return scheduler

    async def retention_job(self) -> None:
        if self.holds_lease.is_set() and not self.stopping.is_set():
            purged = await asyncio.to_thread(self.app.purge)
            if purged:
                log.info("retention: purged %d closed case(s)", len(purged))

    async def heartbeat_job(self) -> None:
        if self.stopping.is_set():  # no new work while the event loop is being closed
            return
        try:
            await asyncio.to_thread(self.app.heartbeat, self.connected.is_set())
        except Exception as exc:  # noqa: BLE001 - the daemon works on; the monitor will see it as dead
            log.error("heartbeat not written to %s", self.app.config.daemon.heartbeat_file, exc_info=exc)

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

    # --- the sender ------------------------------------------------------------------------
    def _taken(self) -> None:
        """This instance has just taken the mailbox over: a digest the last holder missed
        goes now, and so does the mail it left."""
        if self._loop is not None:
            self._jobs.append(asyncio.run_coroutine_threadsafe(self.digest_job(), self._loop))
        self.wake_sender()

    def wake_sender(self) -> None:
        if self.sender:
            self.sender.wake()
        elif self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def supervise_sender(self) -> None:
        await sending.supervise(self.sender, self.app, self.stopping, self.holds_lease)

    async def send_loop(self) -> None:
        await sending.send_loop(self.app, self._wake, self.stopping, self.holds_lease, self.recording)
