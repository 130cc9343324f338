"""What each way a message can go (tracker/incoming/rules.py) does with it, inside the
caller's transaction. Intakes that open cases are gathered and opened together when the
caller has handled every message of its batch (`Openings`): a batch of one is the same."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

import sqlalchemy as sa
from sqlmodel import Session, select

from parser import ParsedMessage
from tracker.cases.context import Context
from tracker.cases.events import on_reply
from tracker.cases.opening import open_cases
from tracker.cases.post import post
from tracker.incoming.rules import INTAKE, REASONS, intake_problems
from tracker.outgoing.letter import Letter
from tracker.storage.models import Case, InboundMessage

PROCESSED, QUARANTINE = "processed", "quarantine"


@dataclass(frozen=True)
class Outcome:
    disposition: str  # processed | quarantine
    reason: str
    case_id: int | None = None
    keep_raw: bool = False


@dataclass
class Openings:
    """Intakes waiting to open their cases: (their place in the batch, message, inbound id),
    and how many cases each sender has opened today (`opened`, see `for_batch`)."""

    waiting: list[tuple[int, ParsedMessage, int]] = field(default_factory=list)
    opened: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_batch(cls, session: Session, ctx: Context, senders: set[str]) -> "Openings":
        """Counted with one query for the batch's intake senders."""
        if not senders:
            return cls()
        i = InboundMessage
        rows = session.exec(select(i.sender, sa.func.count()).where(
            i.partnership == ctx.partnership.id, i.sender.in_(senders), i.case_id.is_not(None),
            i.received_at >= start_of_day(ctx)).group_by(i.sender)).all()
        return cls(opened=dict(rows))

    def admit(self, ctx: Context, msg: ParsedMessage) -> bool:
        """Within the sender's new cases for today? Counts it if so."""
        count = self.opened.get(msg.sender, 0) + sum(1 for _, m, _ in self.waiting if m.sender == msg.sender)
        return count < ctx.partnership.security.max_new_cases_per_sender_per_day

    def open(self, session: Session, ctx: Context) -> dict[int, Outcome]:
        """Open them all at once; each one's outcome by its place in the batch."""
        opened = open_cases(session, ctx, [(msg, inbound_id) for _, msg, inbound_id in self.waiting])
        return {place: Outcome(PROCESSED, f"opened {case.ref}", case.id, keep_raw=True)
                for (place, _, _), case in zip(self.waiting, opened)}


def handle(session: Session, ctx: Context, msg: ParsedMessage | None, inbound_id: int, way: str,
           place: int, openings: Openings) -> Outcome | None:
    """Act on one message that went `way`; None for an intake that waits in `openings`."""
    if way in REASONS or msg is None:
        return Outcome(QUARANTINE, f"{way}: {REASONS.get(way, way)}")
    if way == INTAKE and not openings.admit(ctx, msg):
        return _flood(session, ctx, msg)
    if way == INTAKE:
        openings.waiting.append((place, msg, inbound_id))
        return None
    if way == "reply":
        return _reply(session, ctx, msg, inbound_id)
    if way == "conduct":
        _answer(session, ctx, msg, inbound_id, "out_of_scope", {})
        return Outcome(PROCESSED, "about a professional's conduct: sent the whistleblowing / allegations route")
    if way == "errors":
        _answer(session, ctx, msg, inbound_id, "invalid_intake", {"errors": intake_problems(ctx, msg)})
        return Outcome(PROCESSED, "intake with errors: sender told what to fix")
    raise ValueError(f"no handling for {way!r}")


def _reply(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int) -> Outcome:
    case = session.exec(select(Case).where(Case.ref == msg.case_ref, Case.partnership == ctx.partnership.id)).first()
    if case is None:
        _answer(session, ctx, msg, inbound_id, "not_a_party", {"ref": None})  # not even echoed back
        return Outcome(PROCESSED, "reply naming an unknown case: sender told, nothing revealed")
    t = on_reply(session, ctx, msg, case, inbound_id)
    if t.outcome == "not_party":
        return Outcome(PROCESSED, "reply from someone not on the case: politely refused, nothing revealed")
    verdict = "applied" if t.allowed else "refused"
    return Outcome(PROCESSED, f"{t.outcome} ({verdict}) on {case.ref}", case.id, keep_raw=True)


def _answer(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int, kind: str, extra: dict) -> None:
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": msg.case_ref,
              "subject": msg.subject, **extra}
    letter = Letter(kind, msg.sender, values, in_reply_to=msg.message_id, auto="auto-replied")
    post(session, ctx, None, f"in{inbound_id}", [letter], [])


def start_of_day(ctx: Context) -> datetime:
    """Midnight today in the partnership's time zone: new cases are counted from it."""
    cal = ctx.partnership.calendar
    return datetime.combine(cal.local(ctx.now).date(), time(0), tzinfo=cal.tz)


def _flood(session: Session, ctx: Context, msg: ParsedMessage) -> Outcome:
    """One address past its new cases for the day: nothing opened; it is told once that day,
    and business support once, so a flood (or a forged sender) cannot become a mail bomb."""
    p, day = ctx.partnership, ctx.partnership.calendar.local(ctx.now).date().isoformat()
    limit = p.security.max_new_cases_per_sender_per_day
    values = {"partnership": p.name, "address": p.address, "ref": None, "limit": limit, "sender": msg.sender,
              "business_support": list(p.business_support)}
    post(session, ctx, None, f"flood{day}", [Letter("too_many_cases", msg.sender, values,
                                                    in_reply_to=msg.message_id, auto="auto-replied")], [])
    post(session, ctx, None, f"flood{day}/{msg.sender}",
         [Letter("flood_alert", to, values) for to in p.business_support], [])
    return Outcome(QUARANTINE, f"flood: more than {limit} new cases from this sender today; not opened "
                               "(the sender and business support are told once a day)")
