"""The durable outbox: claimed once, sent once, retried on temporary failure, and a
permanent refusal recorded on the case with business support told."""
from __future__ import annotations

import asyncio

from sqlmodel import Session, select

from mailer.transport import PermanentFailure, TemporaryFailure
from tests.conftest import intake
from tracker import lease, outbox
from tracker.models import Event, OutboxMail


class Recording:
    """A transport double for our own seam: records, or fails on chosen recipients."""

    def __init__(self, temporary=(), permanent=()):
        self.sent: list[str] = []
        self.temporary, self.permanent = set(temporary), set(permanent)

    async def send(self, raw, sender, recipients, name=""):
        to = recipients[0]
        if to in self.temporary:
            raise TemporaryFailure("451 try later")
        if to in self.permanent:
            raise PermanentFailure("550 no such user")
        self.sent.append(to)

    async def close(self):
        pass


def queued(h, n_intakes=1):
    for i in range(n_intakes):
        h.deliver(intake().replace(b"CH-1001-TEST", f"CH-{2000 + i}-TEST".encode()))
    h.app.ingest(__import__("mailer.inbox", fromlist=["MaildirInbox"]).MaildirInbox(h.base / "inbox"))


def statuses(h):
    with Session(h.app.engine) as s:
        return [(o.recipient, o.status) for o in s.exec(select(OutboxMail).order_by(OutboxMail.id))]


def test_two_senders_never_send_the_same_row(harness):
    queued(harness, 20)
    a, b = Recording(), Recording()

    async def both():
        await asyncio.gather(
            outbox.drain(harness.app.engine, a, "test", "x@p.example.test", harness.clock(), instance="a", limit=3),
            outbox.drain(harness.app.engine, b, "test", "x@p.example.test", harness.clock(), instance="b", limit=3))

    asyncio.run(both())
    assert len(a.sent) + len(b.sent) == 40
    assert all(status == "sent" for _, status in statuses(harness))


def test_a_claim_is_exclusive(harness):
    queued(harness, 2)
    now = harness.clock()
    first = outbox.claim(harness.app.engine, "test", "a", now, 10)
    second = outbox.claim(harness.app.engine, "test", "b", now, 10)
    assert len(first) == 4 and second == []
    assert outbox.claim(harness.app.engine, "other-partnership", "c", now, 10) == []
    assert lease.reclaim_unsent(harness.app.engine, "test") == 4
    assert len(outbox.claim(harness.app.engine, "test", "b", now, 10)) == 4


def test_temporary_failure_retries_after_a_backoff(harness):
    from datetime import timedelta

    queued(harness)
    worker = statuses(harness)[0][0]
    flaky = Recording(temporary=[worker])
    assert asyncio.run(harness.app.flush(flaky)) == 0
    assert [s for _, s in statuses(harness)] == ["pending", "pending"]
    later = Recording()
    assert asyncio.run(harness.app.flush(later)) == 1  # the other mail goes; the refused one waits
    assert worker not in later.sent
    harness.clock.now += timedelta(minutes=2)
    ok = Recording()
    assert asyncio.run(harness.app.flush(ok)) == 1 and ok.sent == [worker]


def test_permanent_failure_is_recorded_and_business_support_told(harness):
    queued(harness)
    other = statuses(harness)[1][0]
    assert asyncio.run(harness.app.flush(Recording(permanent=[other]))) == 1
    with Session(harness.app.engine) as s:
        rows = s.exec(select(OutboxMail).order_by(OutboxMail.id)).all()
        events = [e.kind for e in s.exec(select(Event))]
    assert rows[1].status == "failed" and "550" in rows[1].last_error
    assert rows[-1].kind == "delivery_failed" and rows[-1].recipient == "business@partnership.example.test"
    assert "delivery_failed" in events


def test_each_partnership_sends_only_its_own_mail(harness):
    queued(harness)
    rec = Recording()
    sent = asyncio.run(outbox.drain(harness.app.engine, rec, "someone-else", "x@y.example.test",
                                    harness.clock()))
    assert sent == 0 and rec.sent == []
