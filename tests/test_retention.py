"""Retention: after the configured period a closed case keeps its statistics and a
verifiable record, and loses its raw mail and free text."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from tests.helpers.mail import OTHER, intake, mail
from tracker.cases import record
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail, Party


def resolved_case(h):
    h.deliver(intake())
    h.run()
    with Session(h.app.engine) as s:
        notice = s.exec(select(OutboxMail).where(OutboxMail.kind == "notice")).one()
    h.deliver(mail(OTHER, "RE: notice", "RESOLVED: assessment starts on Monday", in_reply_to=notice.message_id))
    h.run()


def test_closed_cases_are_purged_after_the_period_and_still_verify(harness):
    resolved_case(harness)
    days = harness.app.partnership.retention_days
    harness.clock.now += timedelta(days=days - 1)
    assert harness.app.purge() == []
    harness.clock.now += timedelta(days=2)
    assert harness.app.purge() == ["ESC-2026-0001"]
    assert harness.app.purge() == []  # once
    with Session(harness.app.engine) as s:
        case = s.exec(select(Case)).one()
        assert case.purged_at is not None and "CH-1001" not in case.client_reference
        assert case.outcome is None and "early help" not in case.decision_disputed
        assert case.category == "threshold / level of need" and case.raiser_agency  # statistics stay
        assert all(p.name is None for p in s.exec(select(Party)))
        assert all(e.statement is None for e in s.exec(select(Event)))
        assert all(m.raw is None for m in s.exec(select(InboundMessage)))
        assert all(m.raw is None and m.letter is None for m in s.exec(select(OutboxMail)))
        assert record.verify(s, case).ok
        assert record.events(s, case)[-1].kind == "purged"


def test_open_cases_are_never_purged(harness):
    harness.deliver(intake())
    harness.run()
    harness.clock.now += timedelta(days=5000)
    assert harness.app.purge() == []


def test_editing_a_statement_is_still_detected(harness):
    resolved_case(harness)
    with Session(harness.app.engine) as s:
        event = s.exec(select(Event).where(Event.statement.is_not(None))).first()
        event.statement = "something else"
        s.add(event)
        s.commit()
        assert not record.verify(s, s.exec(select(Case)).one()).ok
