"""Opening cases from intakes. However many arrive together (one, or a backlog's batch),
they are opened at once: one statement per table for all of them (references, cases,
people, outbox rows, record entries), so a batch costs a handful of round trips rather
than a dozen per case. What each case starts as is the stage machine's `open_case`."""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import sqlalchemy as sa
from sqlmodel import Session

from parser import IntakeFields, ParsedMessage
from parser.personal_data import intake_passages
from tracker.cases import calendar, record
from tracker.cases.context import Context
from tracker.cases.effects import entries, letters_for
from tracker.cases.state import party_rows
from tracker.cases.post import head_of, outgoing, post, queued
from tracker.outgoing.letter import Letter
from tracker.outgoing.letters import passage_rows, when
from tracker.outgoing.outbox import insert_pending, pending_row
from tracker.stages.machine import CONFERENCE_CATEGORY, Opening, open_case
from tracker.stages.state import DECIDED, Person, Transition
from tracker.storage.models import Case, Party, RefCounter


def next_refs(session: Session, year: int, count: int = 1) -> list[str]:
    """The year's next `count` references. The UPDATE locks the counter row until commit, so
    two instances never hand out the same number (two first-of-the-year inserts collide on
    the primary key instead, and the loser's batch is redone)."""
    t = RefCounter.__table__
    last = session.execute(t.update().where(t.c.year == year).values(last=t.c.last + count)
                           .returning(t.c.last)).scalar()
    if last is None:
        last = count
        session.execute(t.insert().values(year=year, last=last))
    return [f"ESC-{year}-{n:04d}" for n in range(last - count + 1, last + 1)]


@dataclass(frozen=True)
class Held:
    """An intake that opened nothing: held back under `ref` for personal data, its sender told."""

    ref: str


def open_cases(session: Session, ctx: Context, intakes: list[tuple[ParsedMessage, int]], *,
               refs: list[str] | None = None, answers: list[str | None] | None = None) -> list[SimpleNamespace | Held]:
    """Open a case for each (intake, inbound message id); each comes back as its columns'
    values (no ORM object: building 50 of those was a tenth of a backlog batch's time), or
    as `Held` when the stage machine held it back. `refs`, `answers`: for intakes held before
    and now answered NOT IDENTIFYING (tracker/cases/holds.py), the reference each was held
    under and the answer."""
    if not intakes:
        return []
    p, rules = ctx.partnership, ctx.rules
    refs = refs or next_refs(session, p.calendar.local(ctx.now).year, len(intakes))
    answers = answers or [None] * len(intakes)
    moves = [open_case(rules, opening_of(msg, answer), ctx.now) for (msg, _), answer in zip(intakes, answers)]
    out: dict[int, SimpleNamespace | Held] = {}
    for n, ((msg, inbound_id), ref, t) in enumerate(zip(intakes, refs, moves)):
        if t.state is None:
            out[n] = Held(ref)
            _hold(session, ctx, msg, inbound_id, ref, t)
    keep = [n for n in range(len(intakes)) if n not in out]
    if keep:
        cases = _open(session, ctx, [intakes[n] for n in keep], [refs[n] for n in keep], [moves[n] for n in keep])
        out.update(zip(keep, cases))
    return [out[n] for n in range(len(intakes))]


def _hold(session: Session, ctx: Context, msg: ParsedMessage, inbound_id: int, ref: str, t: Transition) -> None:
    """The sender is told what was found and how to anonymise it; nothing else is written."""
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": ref,
              "subject": msg.subject, "immediate_risk": bool(msg.fields.immediate_risk),
              "passages": passage_rows(t.words.passages)}
    post(session, ctx, None, f"in{inbound_id}", [Letter(tell.kind, to, values, in_reply_to=msg.message_id,
                                                        auto="auto-replied") for tell in t.tell for to in tell.to],
         [], ref=ref)


def _open(session: Session, ctx: Context, intakes: list[tuple[ParsedMessage, int]], refs: list[str],
          moves: list[Transition]) -> list[SimpleNamespace]:
    p = ctx.partnership
    opened = [_new_case(ctx, msg, ref, t) for (msg, _), ref, t in zip(intakes, refs, moves)]
    table = Case.__table__
    ids = dict(session.execute(table.insert().returning(table.c.ref, table.c.id),
                               [{c: getattr(case, c) for c in _CASE_DEFAULTS} for case in opened]).all())
    for case in opened:
        case.id = ids[case.ref]
    session.execute(sa.insert(Party.__table__), [row for case, t in zip(opened, moves)
                                                 for row in party_rows(case.id, t.added)])
    for case in opened:
        record.begin(session, case)
    # The opening entries are hashed first, so the mail carries the record's head; the
    # entries for the mail follow, and all are written with one INSERT.
    made = record.chain(session, [(case, t.state.people, entries(ctx.now, t, inbound_id))
                                  for case, t, (_, inbound_id) in zip(opened, moves, intakes)])
    keyed = [outgoing(session, ctx, case, "opened", letters_for(ctx, case, t, msg.message_id, extra={
        "warnings": [w.message for w in msg.warnings]}, history=_history(ctx, t)))
        for case, t, (msg, _) in zip(opened, moves, intakes)]
    rows = insert_pending(session, [pending_row(p, letter, key, case.id, case.ref, [case.thread_id], ctx.now,
                                                head_of(session, case))
                                    for case, mine in zip(opened, keyed) for letter, key in mine])
    for case, mine in zip(opened, keyed):
        calendar.remember(session, case, mine, [rows.get(key) for _, key in mine], fresh=True)
    made += record.chain(session, [(case, None, queued(ctx, mine, [rows.get(key) for _, key in mine]))
                                   for case, mine in zip(opened, keyed)])
    record.write(session, made)
    return opened


def opening_of(msg: ParsedMessage, answer: str | None = None) -> Opening:
    """The intake as the stage machine sees it: the people it names, who sent it, its risk,
    what brings others onto the case (a looked-after child, a conference dispute), and what
    in it seems to identify someone."""
    f: IntakeFields = msg.fields
    return Opening(intake_people(f, msg.sender), bool(f.immediate_risk), msg.sender,
                   looked_after=bool(f.looked_after), conference=f.category == CONFERENCE_CATEGORY,
                   passages=tuple(intake_passages(f)), answer=answer)


def _history(ctx: Context, t: Transition) -> list[dict] | None:
    """The case so far for letters that carry it (people brought in at opening): its opening."""
    if not t.history:
        return None
    return [{"at": when(ctx.partnership, ctx.now), "summary": e.summary, "statement": e.statement}
            for e in t.entries]


def intake_people(f: IntakeFields, sender: str | None) -> tuple[Person, ...]:
    """The four people an intake names (the raiser is the sender if not named), and its
    sender when that is someone else (a forward, or a colleague sending it for the raiser):
    both are on the record and both are told."""
    named = [("raiser", "raiser", f.raised_by), ("raiser_manager", "raiser", f.raiser_manager),
             ("other_party", "other", f.other_party), ("other_manager", "other", f.other_manager)]
    people = []
    for role, side, who in named:
        email = (who.email if who else None) or (sender if role == "raiser" else None)
        if email:
            people.append(Person(role, side, email.lower(), None, who.name if who else None,
                                 who.role if who else None, who.agency if who else None))
    if sender and sender.lower() not in {p.email for p in people if p.role == "raiser"}:
        people.append(Person("submitter", "raiser", sender.lower()))
    return tuple(people)


# Every column of a new case with its default.
_CASE_DEFAULTS = {c.name: c.default.arg if c.default is not None else None
                  for c in Case.__table__.columns if c.name != "id"}


def _new_case(ctx: Context, msg: ParsedMessage, ref: str, t: Transition) -> SimpleNamespace:
    """The case an intake opens (not yet written): its columns as attributes. It was raised
    when we received it: a sender's Date header can lie."""
    f: IntakeFields = msg.fields
    p = ctx.partnership
    return SimpleNamespace(id=None, **{
        **_CASE_DEFAULTS, **{name: getattr(t.state, name) for name in DECIDED},
        "ref": ref, "partnership": p.id, "policy": p.policy.name, "about": f.about, "category": f.category,
        "client_reference": f.case_reference, "decision_disputed": f.decision_disputed,
        "decision_date": f.decision_date, "reasons": f.reasons, "outcome_sought": f.outcome_sought,
        "discussions": f.discussions, "raised_at": ctx.now, "thread_id": f"{ref}.thread@{p.domain}",
        "raiser_agency": _agency(f.raised_by, msg.sender), "other_agency": _agency(f.other_party, None),
    })


def _agency(who, fallback_email: str | None) -> str | None:
    """The agency as written, else the email domain: enough for counts by agency."""
    if who and who.agency:
        return who.agency
    email = (who.email if who else None) or fallback_email
    return email.rpartition("@")[2] if email else None

