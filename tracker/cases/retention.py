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
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail, Party

log = logging.getLogger(__name__)
PURGED = "(purged under the retention policy)"


def purge(session: Session, ctx, days: int) -> list[str]:
    """Purge every case of this partnership closed more than `days` ago; returns their refs."""
    if days <= 0:
        return []
    cutoff = ctx.now - timedelta(days=days)
    due = session.exec(select(Case).where(Case.partnership == ctx.partnership.id, Case.status != "open",
                                          Case.closed_at < cutoff, Case.purged_at.is_(None))).all()
    for case in due:
        _purge_case(session, case)
        case.purged_at = ctx.now
        session.add(case)
        record.append(session, case, at=ctx.now, kind="purged", actor="service",
                      summary=f"raw mail and free text purged, {days} days after closing")
        log.info("retention: purged %s", case.ref)
    return [c.ref for c in due]


def _purge_case(session: Session, case: Case) -> None:
    case.client_reference = case.decision_disputed = case.reasons = case.outcome_sought = PURGED
    case.discussions = case.outcome = None
    session.exec(sa.update(Party).where(Party.case_id == case.id).values(name=None, title=None))
    session.exec(sa.update(Event).where(Event.case_id == case.id).values(statement=None))
    session.exec(sa.update(InboundMessage).where(InboundMessage.case_id == case.id).values(raw=None))
    session.exec(sa.update(OutboxMail).where(OutboxMail.case_id == case.id, OutboxMail.status != "pending")
                 .values(raw=None, letter=None))
