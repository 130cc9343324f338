"""Events that reach a case by mail: a reply from someone, and a mail the server refused.
Each loads the case, asks the stage machine, and writes its answer (tracker/cases/effects.py)."""
from __future__ import annotations

from sqlmodel import Session

from parser import ParsedMessage
from tracker.cases.context import Context
from tracker.cases.effects import apply
from tracker.cases.state import people_of, state_of
from tracker.cases.post import post
from tracker.outgoing.letter import Letter
from tracker.policy.machine import MailRefused, Reply, advance
from tracker.policy.state import Transition
from tracker.storage.models import Case, OutboxMail


def on_reply(session: Session, ctx: Context, msg: ParsedMessage, case: Case, inbound_id: int) -> Transition:
    """Apply a reply to `case`; returns what the machine made of it."""
    state = state_of(case, people_of(session, case))
    t = advance(ctx.rules, state, Reply(msg.command, msg.sender, msg.statement), ctx.now)
    apply(session, ctx, case, t, key=f"in{inbound_id}", inbound_id=inbound_id, message_id=msg.message_id)
    return t


def on_refused_mail(session: Session, ctx: Context, row_id: int, error: str) -> None:
    """A mail the server refused for good (a 5xx for its recipient): recorded on its case,
    business support told in plain words."""
    row = session.get(OutboxMail, row_id)
    if row is None:
        return
    case = session.get(Case, row.case_id) if row.case_id else None
    state = state_of(case, people_of(session, case)) if case else None
    t = advance(ctx.rules, state, MailRefused(row.kind, row.recipient), ctx.now)
    said = {"kind": row.kind.replace("_", " "), "recipient": row.recipient, "error": error[:300]}
    if case is not None:
        apply(session, ctx, case, t, key=f"fail{row_id}", extra=said)
        return
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None, **said}
    post(session, ctx, None, f"fail{row_id}", [Letter(tell.kind, to, values) for tell in t.tell for to in tell.to], [])
