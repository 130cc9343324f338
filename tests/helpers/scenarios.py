"""Scenarios as a partnership would play them: forms and replies delivered to the Maildir
inbox, `run_once` on a clock the test moves, and every mail the service sent read back as
the person it went to would read it. Invented people only (*.example.test)."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlmodel import Session, select

from tests.helpers.harness import LONDON, Clock, Harness
from tracker.cases import record
from tracker.storage.models import Case, Event, OutboxMail, Party

INBOX = "escalations@partnership.example.test"
SUPPORT = "business@partnership.example.test"
DSL = "dsl@partnership.example.test"

FORM = {
    "Case reference": "CH-2001-TEST",
    "About": "child",
    "Immediate risk": "no",
    "Category": "threshold / level of need",
    "Raised by": "Casey Tester, Social Worker, Example Council <casey.tester@council.example.test>",
    "My manager": "Morgan Tester <morgan.tester@council.example.test>",
    "Disagreement with": "Drew Sample, Health Visitor, Example Health <drew.sample@health.example.test>",
    "Their manager": "Riley Sample <riley.sample@health.example.test>",
    "Decision disputed": "Referral for an early help assessment declined.",
    "Date of decision": "20/11/2026",
    "Reasons": "Repeated missed health appointments.",
    "Outcome sought": "An early help assessment started.",
}


def form(**changes: str | None) -> str:
    """The escalation form's lines; a label given None is left out (`Looked_after="yes"` adds one)."""
    fields = {**FORM, **{k.replace("_", " "): v for k, v in changes.items()}}
    return "".join(f"{label}: {value}\n" for label, value in fields.items() if value is not None)


def message(sender: str, subject: str, body: str, *, reply_to: EmailMessage | None = None,
            attachments: tuple[tuple[str, str, bytes], ...] = ()) -> bytes:
    """A mail as a client writes it; a reply threads on the mail it answers and quotes it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = INBOX
    msg["Subject"] = subject if reply_to is None else "RE: " + str(reply_to["Subject"])
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">"))
    if reply_to is not None:
        msg["In-Reply-To"] = reply_to["Message-ID"]
        msg["References"] = reply_to["Message-ID"]
        quoted = "\n".join("> " + line for line in text_of(reply_to).splitlines()[:10])
        body = f"{body}\n\n-----Original Message-----\n{quoted}\n"
    msg.set_content(body)
    for name, ctype, data in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()


class Scenario:
    """One partnership's service on Maildirs and SQLite, driven a step at a time."""

    def __init__(self, base: Path, policy: str, start: datetime, extra: dict | None = None):
        self.clock = Clock(start)
        self.h = Harness(base, self.clock, policy=policy, extra=extra)
        self.read = 0  # outbox rows already returned by `new`

    def at(self, *args) -> None:
        self.clock.now = datetime(*args, tzinfo=LONDON)

    def send(self, raw: bytes) -> None:
        self.h.deliver(raw)
        self.h.run()

    def raise_case(self, sender: str = "casey.tester@council.example.test", subject: str = "Escalation",
                   **changes: str | None) -> None:
        self.send(message(sender, subject, form(**changes)))

    def reply(self, to: EmailMessage, sender: str, text: str, **kw) -> None:
        self.send(message(sender, "", text, reply_to=to, **kw))

    def rows(self) -> list[OutboxMail]:
        with Session(self.h.app.engine) as s:
            return list(s.exec(select(OutboxMail).order_by(OutboxMail.id)))

    def mails(self, kind: str | None = None, to: str | None = None) -> list[EmailMessage]:
        """Every mail sent (or, not yet sent, as it will be), oldest first."""
        return [self._parsed(r) for r in self.rows() if (kind is None or r.kind == kind)
                and (to is None or r.recipient == to)]

    def mail(self, kind: str, to: str) -> EmailMessage:
        [found] = self.mails(kind, to)
        return found

    def new(self) -> list[tuple[str, str]]:
        """(kind, recipient) of the mail sent since the last call."""
        rows = self.rows()
        out = [(r.kind, r.recipient) for r in rows[self.read:]]
        self.read = len(rows)
        return out

    def _parsed(self, row: OutboxMail) -> EmailMessage:
        from tracker.outgoing.outbox import bytes_of

        return email.message_from_bytes(bytes_of(self.h.app.composer, row), policy=email.policy.default)

    def case(self, ref: str = "ESC-2026-0001") -> Case:
        with Session(self.h.app.engine) as s:
            return s.exec(select(Case).where(Case.ref == ref)).one()

    def cases(self) -> list[Case]:
        with Session(self.h.app.engine) as s:
            return list(s.exec(select(Case).order_by(Case.id)))

    def people(self, ref: str = "ESC-2026-0001") -> list[Party]:
        with Session(self.h.app.engine) as s:
            case = s.exec(select(Case).where(Case.ref == ref)).one()
            return list(s.exec(select(Party).where(Party.case_id == case.id).order_by(Party.id)))

    def events(self, ref: str = "ESC-2026-0001") -> list[Event]:
        with Session(self.h.app.engine) as s:
            return record.events(s, s.exec(select(Case).where(Case.ref == ref)).one())

    def verified(self, ref: str = "ESC-2026-0001") -> bool:
        with Session(self.h.app.engine) as s:
            return record.verify(s, s.exec(select(Case).where(Case.ref == ref)).one()).ok

    def close(self) -> None:
        self.h.app.engine.dispose()
