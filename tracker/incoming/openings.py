"""Intakes waiting to open their cases, opened together when their batch has been handled.
One escalation opens one case: an intake naming the same client reference and the same two
agencies as an open case (or as an earlier intake of the batch) opens nothing, and goes to
that case instead (tracker/stages/support.py `same_escalation`, `duplicate`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

import sqlalchemy as sa
from sqlmodel import Session, select

from parser import ParsedMessage
from tracker.cases.context import Context
from tracker.cases.effects import apply
from tracker.cases.opening import Held, open_cases
from tracker.cases.state import verified_state
from tracker.stages.machine import DuplicateIntake, advance
from tracker.stages.support import same_escalation
from tracker.storage.models import Case, InboundMessage, Party

PROCESSED, QUARANTINE = "processed", "quarantine"


@dataclass(frozen=True)
class Outcome:
    disposition: str  # processed | quarantine
    reason: str
    case_id: int | None = None
    keep_raw: bool = False
    held_as: str | None = None  # the reference it is held back under for personal data, until answered


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
        """Open them all at once (each escalation once); each one's outcome by its place."""
        if not self.waiting:
            return {}
        known = _open_escalations(session, ctx, [key for _, msg, _ in self.waiting if (key := _key(ctx, msg))])
        fresh, again = [], []
        for item in self.waiting:
            key = _key(ctx, item[1])
            if key is not None and key in known:
                again.append((item, known[key]))
            else:
                fresh.append(item)
                if key is not None:
                    known[key] = None  # a later intake of the batch repeats this one
        opened = open_cases(session, ctx, [(msg, inbound_id) for _, msg, inbound_id in fresh])
        out = {place: outcome_of(case) for (place, _, _), case in zip(fresh, opened)}
        by_key = {_key(ctx, msg): case.id for (_, msg, _), case in zip(fresh, opened) if not isinstance(case, Held)}
        # an intake repeating one held back for personal data is read on its own: it may be the corrected copy
        retry = [item for item, case_id in again if case_id is None and _key(ctx, item[1]) not in by_key]
        again = [(item, case_id) for item, case_id in again if item not in retry]
        for (place, _, _), case in zip(retry, open_cases(session, ctx, [(m, i) for _, m, i in retry])):
            out[place] = outcome_of(case)
        for (place, msg, inbound_id), case_id in again:
            case = session.get(Case, case_id if case_id is not None else by_key[_key(ctx, msg)])
            out[place] = _repeat(session, ctx, case, msg, inbound_id)
        return out


def outcome_of(case) -> Outcome:
    """Where an intake went: a case opened, or held back (its words kept for the answer)."""
    if isinstance(case, Held):
        return Outcome(PROCESSED, f"held back as {case.ref}: personal data found; sender told what and how to "
                                  "anonymise it, nothing opened", keep_raw=True, held_as=case.ref)
    return Outcome(PROCESSED, f"opened {case.ref}", case.id, keep_raw=True)


def start_of_day(ctx: Context) -> datetime:
    """Midnight today in the partnership's time zone: new cases are counted from it."""
    cal = ctx.partnership.calendar
    return datetime.combine(cal.local(ctx.now).date(), time(0), tzinfo=cal.tz)


def _key(ctx: Context, msg: ParsedMessage) -> tuple | None:
    f = msg.fields
    raiser = (f.raised_by.email if f.raised_by else None) or msg.sender
    other = f.other_party.email if f.other_party else None
    if not (f.case_reference and raiser and other):
        return None
    return same_escalation(ctx.rules, f.case_reference, raiser.lower(), other.lower())


def _open_escalations(session: Session, ctx: Context, keys: list[tuple]) -> dict[tuple, int | None]:
    """The open cases of this partnership these keys name: key -> case id (two queries)."""
    refs = {key[0] for key in keys}
    if not refs:
        return {}
    rows = session.execute(sa.select(Case.id, Case.client_reference).where(
        Case.partnership == ctx.partnership.id, Case.status == "open",
        sa.func.lower(sa.func.trim(Case.client_reference)).in_(refs))).all()
    if not rows:
        return {}
    sides: dict[int, dict[str, str]] = {}
    for case_id, role, email in session.execute(sa.select(Party.case_id, Party.role, Party.email).where(
            Party.case_id.in_([r.id for r in rows]), Party.role.in_(("raiser", "other_party")))):
        sides.setdefault(case_id, {})[role] = email
    found = {}
    for case_id, client_reference in sorted(rows):
        people = sides.get(case_id, {})
        if "raiser" in people and "other_party" in people:
            found.setdefault(same_escalation(ctx.rules, client_reference, people["raiser"], people["other_party"]),
                             case_id)
    return {key: found[key] for key in keys if key in found}


def _repeat(session: Session, ctx: Context, case: Case, msg: ParsedMessage, inbound_id: int) -> Outcome:
    """The same escalation again: recorded on its case; the sender is told which it is."""
    t = advance(ctx.rules, verified_state(session, case), DuplicateIntake(msg.sender), ctx.now)
    apply(session, ctx, case, t, key=f"in{inbound_id}", inbound_id=inbound_id, message_id=msg.message_id)
    return Outcome(PROCESSED, f"the same escalation as {case.ref}: nothing opened, sender told", case.id,
                   keep_raw=True)
