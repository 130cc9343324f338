"""How the daemon sends: it supervises the sender process (`escalations run`), or sends from
a task in its own event loop (tests that drive the app's clock). Either way mail goes only
while this instance holds the mailbox (`holds_lease`)."""
from __future__ import annotations

import asyncio
import logging
import threading

from tracker.daemon.app import App, open_transport
from tracker.daemon.backoff import backoff
from tracker.daemon.sender import RETRY_SECONDS as SENDER_RETRY_SECONDS, Backlog, SenderProcess
from tracker.storage import lease

log = logging.getLogger(__name__)

SENDER_STOP_SECONDS = 120.0  # a stopping daemon waits this long for the sender's last flush
SENDER_STEADY_SECONDS = 60.0  # a sender that lived this long before it ended starts a new count


async def supervise(sender: SenderProcess, app: App, stopping: threading.Event, holds_lease) -> None:
    """Keep the sender process running until the daemon stops. One that keeps dying at
    start (its database unreachable, say) is started again with growing pauses, not in
    a loop that would spend a core on starting interpreters. The mail a dead sender had
    claimed is put back at once (else it would wait for the claim to time out, ten
    minutes): while this instance holds the mailbox, no other sends for it."""
    failures, started = 0, app.clock.monotonic()
    while not stopping.is_set():
        await asyncio.sleep(0.5)
        if sender.alive() or stopping.is_set():
            continue
        failures = failures + 1 if app.clock.monotonic() - started < SENDER_STEADY_SECONDS else 1
        pause = backoff(failures)
        log.error("the sender process ended (exit code %s); starting another in %.1f s",
                  sender.process.exitcode if sender.process else None, pause)
        if await asyncio.to_thread(stopping.wait, pause):
            break
        if holds_lease.is_set():  # what it had claimed goes back: nobody else sends for us
            await _reclaim(app)
        sender.start()
        started = app.clock.monotonic()


async def _reclaim(app: App) -> None:
    try:
        await asyncio.to_thread(lease.reclaim_unsent, app.engine, app.partnership.id)
    except Exception:  # noqa: BLE001 - the database is away: the claims time out instead
        log.exception("could not put back the mail the sender had claimed")


async def send_loop(app: App, wake: asyncio.Event, stopping: threading.Event, holds_lease, recording) -> None:
    """Send when woken, and every SENDER_RETRY_SECONDS for retries come due, until stopping;
    held back while the watcher records a backlog (see sender.Backlog)."""
    transport = open_transport(app.partnership.outgoing, app.clock)
    backlog = Backlog(recording, app.clock.monotonic)
    try:
        while not stopping.is_set():
            try:
                await asyncio.wait_for(wake.wait(), SENDER_RETRY_SECONDS)
            except asyncio.TimeoutError:
                pass
            wake.clear()
            if holds_lease.is_set() and not backlog.holds_back():
                await _send(app, transport)
    finally:
        await transport.close()


async def _send(app: App, transport) -> None:
    try:
        await app.flush(transport)
    except Exception:  # noqa: BLE001 - the outbox keeps every row; try again on the next round
        log.exception("sending failed; will retry")


async def flush_once(app: App) -> None:
    """The last flush of a daemon that sends from its own loop, as it stops."""
    try:
        await app.send_all()
    except Exception:  # noqa: BLE001 - stopping: what is not sent now goes at the next start
        log.exception("sending at stop failed; the outbox keeps it")
