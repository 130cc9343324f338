"""The sender is judged from the header block before any body is parsed (issue 16, points 1
and 2), and our own mail is known without the headers we add (point 6): on the embedded
default, counting what the parser was handed, what was recorded and what was sent."""
from __future__ import annotations

import email
import email.policy
import pathlib

import pytest
from sqlmodel import Session, select

from tests.helpers.mail import OTHER, WORKER, intake, mail
from tracker.incoming.reading import IN_PROCESS
from tracker.storage.models import Case, InboundMessage, OutboxMail

BOUNCES = pathlib.Path(__file__).parent / "data" / "bounces"
ADDRESS = "escalations@partnership.example.test"


class Spy:
    """Reads in this process, and remembers the Message-ID of every message it was handed."""

    def __init__(self):
        self.read: list[str] = []

    def parse_many(self, raws):
        parsed = IN_PROCESS.parse_many(raws)
        self.read += [p.message_id for p in parsed]
        return parsed

    def close(self):
        pass


@pytest.fixture
def spy(harness):
    harness.app.reader = Spy()
    return harness.app.reader


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


def mid(raw: bytes) -> str:
    return email.message_from_bytes(raw)["Message-ID"].strip("<>")


def with_from(raw: bytes, value: str) -> bytes:
    head, _, body = raw.partition(b"\n\n")
    lines = [ln for ln in head.split(b"\n") if not ln.lower().startswith(b"from:")]
    return b"\n".join([b"From: " + value.encode(), *lines]) + b"\n\n" + body


SPOOFS = {  # each names no one address the message may be taken as sent by
    "encoded word holding a partner's address": "=?utf-8?q?Sam_Carter_=3Csam.carter=40health.example.test=3E?= "
                                                "<attacker@evil.example>",
    "two addresses": f"{WORKER}, {OTHER}",
    "a route address": f"<@evil.example:{WORKER}>",
    "a comment holding another address": f"{WORKER} (drew.sample@health.example.test)",
    "a NUL in the address": f"casey.tester\x00@council.example.test",
}


@pytest.mark.parametrize("value", SPOOFS.values(), ids=SPOOFS.keys())
def test_an_ambiguous_sender_is_quarantined_unread_with_why(harness, spy, value):
    raw = with_from(intake(), value)
    harness.deliver(raw)
    assert harness.run() == (1, 0)  # moved, nothing sent
    (row,) = rows(harness, InboundMessage)
    assert (row.disposition, row.kind) == ("quarantine", "unread") and spy.read == []
    assert row.reason.startswith("ambiguous_sender: ") and row.reason.endswith("its body was not read")
    assert "From: " in row.reason  # what was wrong with it
    assert rows(harness, Case) == []


def test_two_from_headers_are_quarantined_unread(harness, spy):
    harness.deliver(b"From: Eve <eve@evil.example>\n" + intake())
    harness.run()
    assert spy.read == [] and rows(harness, InboundMessage)[0].reason.startswith("ambiguous_sender")


def test_a_strangers_mail_is_never_parsed_and_a_partners_is(harness, spy):
    stranger, partner = intake(sender="Eve <eve@evil.example>"), intake()
    harness.deliver(stranger)
    harness.deliver(partner)
    assert harness.run() == (2, 2)  # the partner's confirmation and notice; nothing to Eve
    assert spy.read == [mid(partner)]
    first = rows(harness, InboundMessage)[0]
    assert (first.disposition, first.sender, first.message_id) == ("quarantine", "eve@evil.example", mid(stranger))
    assert first.reason.startswith("outside_partners") and "not read" in first.reason
    assert not any(o.recipient.endswith("evil.example") for o in rows(harness, OutboxMail))


@pytest.mark.parametrize("fixture", ["gmail.eml", "dragonfly.eml", "office365.eml", "verizon.eml"])
def test_a_delivery_report_from_outside_or_with_no_sender_is_still_read(harness, spy, fixture):
    raw = (BOUNCES / fixture).read_bytes()
    harness.deliver(raw)
    harness.run()
    assert len(spy.read) == 1  # read, as bounces come from anywhere
    assert rows(harness, InboundMessage)[0].reason.startswith("bounce")


def test_a_stranger_dressed_as_a_bounce_is_read_but_goes_no_further(harness, spy):
    disguised = mail("Eve <eve@evil.example>", "Undeliverable: Escalation", "Disagreement with: nobody")
    harness.deliver(disguised)
    assert harness.run() == (1, 0)
    assert spy.read == [mid(disguised)]
    assert rows(harness, InboundMessage)[0].reason.startswith("outside_partners")


def _own_mail_back(harness) -> bytes:
    """The notice the service sent, as a forwarder would hand it back: our marker and
    Auto-Submitted headers stripped."""
    harness.deliver(intake())
    harness.run()
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    msg = email.message_from_bytes(notice.raw, policy=email.policy.default)
    for name in ("X-Escalations-Service", "Auto-Submitted", "X-Auto-Response-Suppress", "Precedence"):
        del msg[name]
    return msg.as_bytes()


def test_our_own_mail_back_without_its_markers_is_known_by_its_message_id(harness, spy):
    back = _own_mail_back(harness)
    assert b"X-Escalations-Service" not in back and b"Auto-Submitted" not in back
    sent = len(rows(harness, OutboxMail))
    harness.deliver(back)
    assert harness.run() == (1, 0)
    assert rows(harness, InboundMessage)[-1].reason.startswith("own_mail") and len(spy.read) == 1  # the intake
    assert len(rows(harness, OutboxMail)) == sent


@pytest.mark.parametrize("header", ["From", "Sender"])
def test_mail_from_the_mailbox_address_itself_is_never_answered(harness, spy, header):
    raw = mail(f"Casey Tester <{WORKER}>", "Question", "Who do I talk to?")
    raw = with_from(raw, f"Escalations <{ADDRESS}>") if header == "From" else \
        raw.replace(b"Subject:", f"Sender: {ADDRESS}\nSubject:".encode(), 1)
    harness.deliver(raw)
    assert harness.run() == (1, 0)
    assert rows(harness, InboundMessage)[0].reason.startswith("own_mail") and spy.read == []


def test_a_partys_reply_to_our_mail_is_still_read_and_answered(harness, spy):
    harness.deliver(intake())
    harness.run()
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    harness.deliver(mail(f"Drew Sample <{OTHER}>", "RE: case", "ACKNOWLEDGED: looking at it",
                         in_reply_to=notice.message_id))  # our Message-ID in its References
    harness.run()
    assert rows(harness, Case)[0].acknowledged_at is not None
