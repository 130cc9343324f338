"""The service on the embedded default (Maildirs and SQLite, or a given database), driven one
step at a time under a clock the test moves; no servers."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tracker.config.load import config_from_dict
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.incoming.reading import IN_PROCESS

LONDON = ZoneInfo("Europe/London")


class Clock:
    """A controlled clock: tests move it; the service only ever asks it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Harness:
    """The service on Maildirs and SQLite, driven one step at a time."""

    def __init__(self, base: Path, clock: Clock, policy: str = "wolverhampton", extra: dict | None = None,
                 database_url: str | None = None, reader=IN_PROCESS):
        """`reader`: how mail is parsed (tracker/incoming/reading.py); in this process unless a
        test hands it a ParseWorker, or None for the configured worker, as the daemon reads."""
        self.base, self.clock = base, clock
        extra = dict(extra or {})
        # Maildir mail carries no receiving server's verdict: these tests believe any From
        # ("none", said explicitly); tests of authentication name a receiving server.
        security = dict(extra.get("security") or {})
        if not {"receiving_server", "trusted_authserv_ids"} & security.keys():
            security["receiving_server"] = "none"
        extra["security"] = security
        cfg = config_from_dict({**extra,
            "partnership": {"id": "test", "address": "escalations@partnership.example.test",
                            "business_support": ["business@partnership.example.test"],
                            "safeguarding_lead": "dsl@partnership.example.test",
                            "partner_domains": ["partnership.example.test", "council.example.test",
                                                "health.example.test"]},
            "policy": extra.get("policy") or {"preset": policy},  # a [policy] table in extra wins
            "database": {"url": database_url or f"sqlite:///{base / 'cases.db'}", "url_env": ""},
            "inbox": {"kind": "maildir", "path": str(base / "inbox")},
            "outgoing": {"kind": "maildir", "path": str(base / "sent")},
        }, base=base)
        self.app = App.from_config(cfg, SystemClock(), now=clock, reader=reader)
        self._n = 0

    def deliver(self, raw: bytes) -> None:
        """As an MTA delivers to a Maildir: written in tmp/, then renamed into new/, so a
        daemon watching the inbox never reads a message half written (it would quarantine
        the empty or cut file, and the message would be lost to the test)."""
        inbox = self.base / "inbox"
        for sub in ("tmp", "new"):
            (inbox / sub).mkdir(parents=True, exist_ok=True)
        self._n += 1
        name = f"{self._n:05d}.test"
        (inbox / "tmp" / name).write_bytes(raw)
        (inbox / "tmp" / name).rename(inbox / "new" / name)

    def run(self) -> tuple[int, int]:
        return self.app.run_once()

    def folder(self, name: str) -> list[Path]:
        root = self.base / "inbox" / (f".{name}" if name != "INBOX" else "")
        return sorted(p for sub in ("new", "cur") if (root / sub).exists() for p in (root / sub).iterdir())
