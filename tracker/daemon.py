"""The long-running service: wait for mail (IMAP IDLE where the server has it, else poll),
handle it, send what is due; stop cleanly on SIGTERM after the message in hand."""
from __future__ import annotations

import logging
import random
import signal
import time

from mailer.inbox import ImapInbox
from tracker.app import App, open_inbox

log = logging.getLogger(__name__)

IDLE_RENEW_SECONDS = 25 * 60  # servers may drop IDLE after 29 minutes (RFC 2177)


class Daemon:
    def __init__(self, app: App):
        self.app = app
        self.stopping = False

    def stop(self, *_args) -> None:
        self.stopping = True

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        failures = 0
        while not self.stopping:
            try:
                self._serve()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - reconnect on any connection trouble
                failures += 1
                delay = min(300, 2 ** min(failures, 8)) * random.uniform(0.5, 1.0)
                log.warning("mailbox connection lost (%s); retrying in %.1f s", type(exc).__name__, delay)
                self._sleep(delay)

    def _serve(self) -> None:
        inbox = open_inbox(self.app.partnership.inbox)
        try:
            while not self.stopping:
                self.app.ingest(inbox)
                self._flush()
                self._wait(inbox)
        finally:
            inbox.close()
            self._flush()

    def _flush(self) -> None:
        import asyncio

        asyncio.run(self.app._send_all())

    def _wait(self, inbox) -> None:
        poll = self.app.partnership.inbox.poll_seconds
        if isinstance(inbox, ImapInbox) and inbox.client.has_capability("IDLE"):
            inbox.idle_wait(min(poll, IDLE_RENEW_SECONDS))
        else:
            self._sleep(poll)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.2, end - time.monotonic()))
