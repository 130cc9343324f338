"""The durable outbox: claimed once, sent once, retried on temporary failure, and a
permanent refusal recorded on the case with business support told."""
from __future__ import annotations

import asyncio

from sqlmodel import Session, select

from mailer.transport import PermanentFailure, TemporaryFailure
from tests.helpers.harness import Harness
from tests.helpers.mail import intake
from tracker.storage import lease
from tracker.outgoing import drain, outbox
from tracker.outgoing.letter import Letter
from tracker.storage.models import Event, OutboxMail


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


def test_two_senders_never_send_the_same_row(tmp_path, clock, database_url):
    harness = Harness(tmp_path, clock, database_url=database_url,
                      extra={"security": {"max_new_cases_per_sender_per_day": 100}})  # one worker, 20 cases
    queued(harness, 20)
    a, b = Recording(), Recording()

    async def both():
        await asyncio.gather(
            drain.drain(harness.app.engine, a, harness.app.composer, "test", "x@p.example.test", harness.clock(), instance="a", limit=3),
            drain.drain(harness.app.engine, b, harness.app.composer, "test", "x@p.example.test", harness.clock(), instance="b", limit=3))

    asyncio.run(both())
    assert len(a.sent) + len(b.sent) == 40
    assert all(status == "sent" for _, status in statuses(harness))
    harness.app.engine.dispose()


def test_a_claim_is_exclusive(harness):
    queued(harness, 2)
    now = harness.clock()
    first = drain.claim(harness.app.engine, "test", "a", now, 10)
    second = drain.claim(harness.app.engine, "test", "b", now, 10)
    assert len(first) == 4 and second == []
    assert drain.claim(harness.app.engine, "other-partnership", "c", now, 10) == []
    assert lease.reclaim_unsent(harness.app.engine, "test") == 4
    assert len(drain.claim(harness.app.engine, "test", "b", now, 10)) == 4


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
    told = {(r.kind, r.recipient) for r in rows[2:]}
    assert ("delivery_failed", "business@partnership.example.test") in told
    assert ("delivery_failed_feedback", "casey.tester@council.example.test") in told  # the raiser, in plain words
    assert "delivery_failed" in events and "clock_stopped" in events  # nobody on the other side has the notice


def test_each_partnership_sends_only_its_own_mail(harness):
    queued(harness)
    rec = Recording()
    sent = asyncio.run(drain.drain(harness.app.engine, rec, harness.app.composer, "someone-else", "x@y.example.test",
                                    harness.clock()))
    assert sent == 0 and rec.sent == []


def test_a_letter_kept_as_json_composes_to_the_same_mail_as_its_live_values(harness):
    """The outbox keeps template values as JSON and composes at send time: a case row, times,
    tables and sets must come back so the templates render exactly what they would have."""
    from datetime import date, datetime, timezone

    from mailer.compose import Attachment, Envelope
    from tracker.digest.render import Table, _plain
    from tracker.outgoing.letters import case_values
    from tracker.storage.models import Case

    p, now = harness.app.partnership, harness.clock()
    case = Case(ref="ESC-2026-0042", partnership=p.id, policy="x", stage=p.policy.first().key, category="threshold",
                client_reference="CH-1-TEST", decision_disputed="Visit refused.", decision_date=date(2026, 11, 2),
                reasons="Missed appointments.", outcome_sought="A joint visit.", raised_at=now,
                stage_started_at=now, stage_due_at=now, thread_id="t@x", acknowledged_at=now)
    ics = Attachment("due.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    values = case_values(p, case, [], extra={
        "late": None, "when": datetime(2026, 11, 27, 17, tzinfo=timezone.utc), "right": frozenset({2, 1}),
        "table": _plain(Table("T", ("a", "b"), (("1", "2"),), frozenset({1})))})
    letter = Letter("reminder", "worker@council.example.test", values, in_reply_to="intake@x",
                           attachments=(ics,))
    row = outbox.pending_row(p, letter, "k/1", None, case.ref, ["t@x"], now)
    direct = harness.app.composer.compose("reminder", values, Envelope(
        sender=p.address, sender_name=p.display_name, to=letter.to, message_id=row["message_id"],
        date=p.calendar.local(now), marker=p.id, in_reply_to="intake@x", references=("t@x", "intake@x"),
        auto="auto-generated", attachments=(ics,)))
    assert outbox.compose(harness.app.composer, row["letter"]) == direct
    assert b"It has been acknowledged" in direct  # the case's acknowledged_at survived as truthy text


def test_values_the_outbox_cannot_keep_are_refused_at_enqueue(harness):
    import pytest

    letter = Letter("reminder", "w@council.example.test", {"thing": object()})
    with pytest.raises(TypeError, match="cannot be kept in the outbox"):
        outbox.pending_row(harness.app.partnership, letter, "k/2", None, None, [], harness.clock())


def test_a_letter_that_cannot_be_composed_is_failed_and_business_support_told(harness):
    queued(harness)
    with Session(harness.app.engine) as s:
        row = s.exec(select(OutboxMail).order_by(OutboxMail.id)).first()
        row.letter = row.letter.replace('"kind":"confirmation"', '"kind":"no_such_template"', 1)
        s.add(row)
        s.commit()
    rec = Recording()
    assert asyncio.run(harness.app.flush(rec)) == 1  # the notice
    assert asyncio.run(harness.app.flush(rec)) == 1  # business support's report, queued meanwhile
    with Session(harness.app.engine) as s:
        rows = s.exec(select(OutboxMail).order_by(OutboxMail.id)).all()
    assert rows[0].status == "failed" and "could not be composed" in rows[0].last_error
    assert rows[-1].kind == "delivery_failed" and rows[-1].status == "sent"
    assert all(r.raw and r.letter is None for r in rows if r.status == "sent")  # the bytes as sent are kept


def test_each_mail_is_marked_sent_before_the_next_is_handed_to_the_server(harness):
    """The one resend window: a death between a 250 and its mark. Never more than one mail
    may be accepted and not yet marked."""
    queued(harness, n_intakes=3)
    engine = harness.app.engine

    class Checking(Recording):
        async def send(self, raw, sender, recipients, name=""):
            with Session(engine) as s:
                marked = len(s.exec(select(OutboxMail).where(OutboxMail.status == "sent")).all())
            assert marked == len(self.sent), "a mail was handed over before the last one was marked"
            await super().send(raw, sender, recipients, name)

    rec = Checking()
    assert asyncio.run(harness.app.flush(rec)) == 6 and len(rec.sent) == 6
    assert [status for _, status in statuses(harness)] == ["sent"] * 6


def test_a_key_already_queued_or_twice_in_one_batch_is_queued_once(harness):
    from tracker.storage.db import transaction

    p, now = harness.app.partnership, harness.clock()
    letter = Letter("reminder", "w@council.example.test", {"x": 1})
    with transaction(harness.app.engine) as s:
        first = outbox.enqueue_many(s, p, [(letter, "k/1"), (letter, "k/1"), (letter, "k/2")],
                                    case_id=None, ref=None, thread=[], now=now)
    with transaction(harness.app.engine) as s:
        again = outbox.enqueue_many(s, p, [(letter, "k/2"), (letter, "k/3")], case_id=None, ref=None, thread=[], now=now)
    assert first[0] is not None and first[1] is None and first[2] is not None and first[0] != first[2]
    assert again[0] is None and again[1] is not None
    with Session(harness.app.engine) as s:
        assert sorted(s.exec(select(OutboxMail.idem_key))) == ["k/1", "k/2", "k/3"]


def test_a_mark_survives_the_database_dropping_the_senders_connection(tmp_path, clock, postgres):
    """Marks go over one connection held for a drain. If PostgreSQL drops it between two
    mails (a restart, a failover), the next mark is made on a new connection: a mail the
    server accepted and left unmarked would be sent again."""
    import sqlalchemy as sa

    h = Harness(tmp_path, clock, database_url=postgres.new_database("marks"))
    queued(h, n_intakes=2)
    killer = sa.create_engine(h.app.engine.url)

    class Dropping(Recording):
        async def send(self, raw, sender, recipients, name=""):
            await super().send(raw, sender, recipients, name)
            if len(self.sent) == 2:  # between the second mail's 250 and its mark
                with killer.begin() as conn:
                    dropped = conn.execute(sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
                assert dropped >= 1

    rec = Dropping()
    try:
        assert asyncio.run(h.app.flush(rec)) == 4 and len(rec.sent) == 4
        assert [status for _, status in statuses(h)] == ["sent"] * 4
    finally:
        killer.dispose()
        h.app.engine.dispose()
