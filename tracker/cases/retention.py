"""Retention: closed cases lose their raw mail and free text after a configured period.

What stays is what the Board's statistics need (reference, dates, stages, category,
agencies, flags) and the record's skeleton: who did what, when. The statements' hashes
stay too, so `case REF --verify` still proves nothing else was changed.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.cases import record
from tracker.cases.state import people_of
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail, Party

log = logging.getLogger(__name__)
PURGED = "(purged under the retention policy)"


# A message held back for personal data and never answered keeps its words this long: its sender
# has long sent it again without them, or not at all.
HELD_DAYS = 30


def purge(session: Session, ctx, days: int) -> list[str]:
    """Purge every case of this partnership closed more than `days` ago; returns their refs.
    Messages held back for personal data lose their words after HELD_DAYS."""
    _lapse_held(session, ctx)
    if days <= 0:
        return []
    cutoff = ctx.now - timedelta(days=days)
    due = session.exec(select(Case).where(Case.partnership == ctx.partnership.id, Case.status != "open",
                                          Case.closed_at < cutoff, Case.purged_at.is_(None))).all()
    done = []
    for case in due:
        check = record.verify(session, case)
        if not check.ok:  # purging would write the altered case into its record as if it were true
            log.warning("retention: %s not purged: its record does not verify", case.ref, extra={"case": case.ref})
            continue
        _purge_case(session, case)
        case.purged_at = ctx.now
        session.add(case)
        session.flush()
        record.append(session, case, at=ctx.now, kind="purged", actor="service",
                      summary=f"raw mail and free text purged, {days} days after closing",
                      people=people_of(session, case))
        log.info("retention: purged %s", case.ref, extra={"case": case.ref})
        done.append(case.ref)
    return done


def _purge_case(session: Session, case: Case) -> None:
    case.client_reference = case.decision_disputed = case.reasons = case.outcome_sought = PURGED
    case.discussions = case.outcome = None
    session.exec(sa.update(Party).where(Party.case_id == case.id).values(name=None, title=None))
    session.exec(sa.update(Event).where(Event.case_id == case.id).values(statement=None))
    session.exec(sa.update(InboundMessage).where(InboundMessage.case_id == case.id).values(raw=None))
    session.exec(sa.update(OutboxMail).where(OutboxMail.case_id == case.id, OutboxMail.status != "pending")
                 .values(raw=None, letter=None))


def _lapse_held(session: Session, ctx) -> None:
    cutoff = ctx.now - timedelta(days=HELD_DAYS)
    lapsed = session.exec(sa.update(InboundMessage).where(
        InboundMessage.partnership == ctx.partnership.id, InboundMessage.held_as.is_not(None),
        InboundMessage.received_at < cutoff).values(held_as=None, raw=None).returning(InboundMessage.id)).all()
    if lapsed:
        log.info("retention: %d message(s) held back for personal data and never answered purged", len(lapsed))
