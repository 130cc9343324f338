"""Shared helpers for unit tests of the service on the embedded default (no servers)."""
from __future__ import annotations

import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.harness.fixtures import mailstack, postgres  # noqa: F401  (session fixtures for every test)
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.config.load import config_from_dict

LONDON = ZoneInfo("Europe/London")
WORKER = "casey.tester@council.example.test"
OTHER = "drew.sample@health.example.test"
MANAGER = "morgan.tester@council.example.test"
OTHER_MANAGER = "riley.sample@health.example.test"

INTAKE_BODY = f"""Case reference: CH-1001-TEST
About: child
Immediate risk: {{risk}}
Category: threshold / level of need
Raised by: Casey Tester, Social Worker, Example Council <{WORKER}>
My manager: Morgan Tester <{MANAGER}>
Disagreement with: Drew Sample, Health Visitor, Example Health <{OTHER}>
Their manager: Riley Sample <{OTHER_MANAGER}>
Decision disputed: Referral for an early help assessment declined.
Date of decision: 20/11/2026
Reasons: Repeated missed health appointments.
Outcome sought: An early help assessment started.
"""


class Clock:
    """A controlled clock: tests move it; the service only ever asks it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def mail(sender: str, subject: str, body: str, *, in_reply_to: str | None = None,
         headers: dict | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "escalations@partnership.example.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or "example.test")
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes()


def intake(risk: str = "no", sender: str = f"Casey Tester <{WORKER}>") -> bytes:
    return mail(sender, "Escalation: early help declined", INTAKE_BODY.replace("{risk}", risk))


class Harness:
    """The service on Maildirs and SQLite, driven one step at a time."""

    def __init__(self, base: Path, clock: Clock, policy: str = "wolverhampton", extra: dict | None = None,
                 database_url: str | None = None):
        self.base, self.clock = base, clock
        cfg = config_from_dict({**(extra or {}),
            "partnership": {"id": "test", "address": "escalations@partnership.example.test",
                            "business_support": ["business@partnership.example.test"],
                            "safeguarding_lead": "dsl@partnership.example.test",
                            "partner_domains": ["partnership.example.test", "council.example.test",
                                                "health.example.test"]},
            "policy": {"preset": policy},
            "database": {"url": database_url or f"sqlite:///{base / 'cases.db'}", "url_env": ""},
            "inbox": {"kind": "maildir", "path": str(base / "inbox")},
            "outgoing": {"kind": "maildir", "path": str(base / "sent")},
        }, base=base)
        self.app = App.from_config(cfg, SystemClock(), now=clock)
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


@pytest.fixture
def clock():
    return Clock(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each storage test runs on the embedded default and on the production database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.db'}"
    server = request.getfixturevalue("postgres")
    return server.new_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def harness(tmp_path, clock, database_url):
    h = Harness(tmp_path, clock, database_url=database_url)
    yield h
    h.app.engine.dispose()
