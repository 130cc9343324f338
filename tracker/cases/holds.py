"""Messages held back for personal data, and their senders' NOT IDENTIFYING answers.

An intake or a reply whose words seem to identify a child or adult is not acted on: the
stage machine holds it (tracker/stages/machine.py) and its sender is told what was found.
The message keeps its bytes and the reference it is held under (InboundMessage.held_as).
Its sender may send it again without those words, or answer NOT IDENTIFYING (a professional's
name, say): the held message is then read again and goes to the stage machine with the
answer, which opens the case, or applies the reply, with the answer on its record.
"""
from __future__ import annotations

from sqlmodel import Session, select

from parser import ParsedMessage, parse_message
from tracker.cases.context import Context
from tracker.cases.events import on_reply
from tracker.cases.opening import open_cases
from tracker.storage.models import Case, InboundMessage


def release(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int) -> tuple[str, int] | None:
    """Act on what `msg`'s sender had held back under its reference, with `msg` as their
    answer: (what was done, the case's id); None when nothing of theirs is held there (the
    reply then goes its usual way, and the stage machine answers that nothing was held).
    Only the sender of the held message finds it: the answer vouches for their own words."""
    held = session.exec(select(InboundMessage).where(
        InboundMessage.partnership == ctx.partnership.id, InboundMessage.held_as == msg.case_ref,
        InboundMessage.sender == msg.sender, InboundMessage.raw.is_not(None))
        .order_by(InboundMessage.id.desc())).first()
    if held is None:
        return None
    original, answer = parse_message(held.raw), msg.statement or ""
    held.held_as = None
    if held.case_id is None:  # an intake: with the answer, the machine opens it under the reference it was held as
        [case] = open_cases(session, ctx, [(original, held.id)], refs=[msg.case_ref], answers=[answer])
        held.case_id = case.id
        session.add(held)
        return f"NOT IDENTIFYING from its sender: the intake held back opened {case.ref}", case.id
    session.add(held)
    case = session.get(Case, held.case_id)
    t = on_reply(session, ctx, original, case, held.id, cleared=answer)
    return f"NOT IDENTIFYING from its sender: the held {original.command} {t.outcome} on {case.ref}", case.id
