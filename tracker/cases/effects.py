"""Writing what the stage machine decided (tracker/stages/machine.py), in the caller's
transaction: the case's columns, the people who came onto it (or whose address changed or
bounced), its record entries, its calendar entries and its letters. Nothing here decides;
it reads a case into the machine's values and writes the machine's answer back."""
from __future__ import annotations

import hashlib
from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa
from sqlmodel import Session

from tracker.cases import calendar, record
from tracker.cases.context import Context
from tracker.cases.post import ANSWER_KINDS, post
from tracker.cases.state import party_rows
from tracker.outgoing.letter import Letter
from tracker.outgoing.letters import case_values, late_note, missing_words, passage_rows, person, told_rows, when
from tracker.stages.state import DECIDED, DISCUSSION_KINDS, Transition
from tracker.storage.models import Case, Party

# Letters that answer a person's own message (RFC 3834 "auto-replied"); the others a
# change of the case causes, threaded to the message that caused it where there is one.
AUTO_REPLIED = frozenset({"confirmation"})


def apply(session: Session, ctx: Context, case: Case, t: Transition, *, key: int | str,
          inbound_id: int | None = None, message_id: str | None = None, extra: dict | None = None,
          answer: bool = True) -> None:
    """Write `t` for `case`. `key` names the change for the letters' idempotency keys when it
    writes no record entry of its own; `inbound_id`/`message_id`: the message that caused it;
    `extra`: more values for its letters' templates; `answer` False: no answer (a refusal, what
    to fix) goes back (the message came through a list, which the service never answers; the
    case's own letters still go to its people)."""
    if t.state is not None:
        for name in DECIDED:
            setattr(case, name, getattr(t.state, name))
        session.add(case)
        session.flush()
        _people(session, case, t)
    # the record holds the case as the rows now are (addresses replaced, bounces marked)
    people = record.people_now(session, case) if t.state is not None else None
    written = record.append_many(session, case, entries(ctx.now, t, inbound_id), people)
    key = written[0].seq if written else key
    if t.calendar and t.state is not None:
        for change, letter in calendar.follow(session, ctx, case, t.calendar, key):
            post(session, ctx, case, change, [letter], [case.thread_id])
    tells = [tell for tell in t.tell if answer or tell.kind not in ANSWER_KINDS]
    about = [tell for tell in tells if tell.about_case]
    if about:
        history = _history(session, ctx, case) if t.history else None
        if any(tell.kind in _FOR_THE_BOARD for tell in about):
            extra = {**(extra or {}), "discussions": discussions(session, ctx, case, t.state.people)}
        post(session, ctx, case, key, letters_for(ctx, case, t, message_id, extra, history, about), [case.thread_id])
    for tell in (tell for tell in tells if not tell.about_case):
        if tell.kind == "record_altered":
            _altered(session, ctx, case, t, tell)
            continue
        values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None}
        post(session, ctx, None, f"in{inbound_id}", [Letter(tell.kind, to, values, in_reply_to=message_id,
                                                            auto="auto-replied") for to in tell.to], [])


def _altered(session: Session, ctx: Context, case: Case, t: Transition, tell) -> None:
    """Business support told that a case's record does not verify: the reference and what
    was found, none of the case's own (unverified) values; once for each thing found."""
    w = t.words
    values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None,
              "case_ref": case.ref, "problem": w.refusal, "sender": w.actor,
              "command": (w.command or "").replace("_", " ").upper() or None}
    key = f"altered-{case.ref}-{hashlib.sha256(w.refusal.encode()).hexdigest()[:16]}"
    post(session, ctx, None, key, [Letter(tell.kind, to, values) for to in tell.to], [])


def _people(session: Session, case: Case, t: Transition) -> None:
    """New people inserted; a corrected address replaced everywhere; bounced addresses marked."""
    if t.added:
        session.execute(sa.insert(Party.__table__), party_rows(case.id, t.added))
    for old, new in t.replaced:
        session.execute(sa.update(Party).where(Party.case_id == case.id, Party.email == old)
                        .values(email=new, bounced=False))
    bounced = sorted({p.email for p in t.state.people if p.bounced})
    if bounced:
        session.execute(sa.update(Party).where(Party.case_id == case.id, Party.email.in_(bounced),
                                               Party.bounced.is_(False)).values(bounced=True))


def entries(now: datetime, t: Transition, inbound_id: int | None) -> list[dict]:
    """The record entries of `t`; those a person's message caused point at that message."""
    return [dict(at=now, kind=e.kind, actor=e.actor, summary=e.summary, statement=e.statement, stage=e.stage,
                 inbound_id=inbound_id if e.actor != "service" else None) for e in t.entries]


def letters_for(ctx: Context, case: Case | SimpleNamespace, t: Transition, message_id: str | None,
                extra: dict | None = None, history: list[dict] | None = None, tells=None) -> list[Letter]:
    """One letter per recipient of each of `t`'s Tells, with the values its template sees."""
    p, w = ctx.partnership, t.words
    tells = [tell for tell in (t.tell if tells is None else tells) if tell.about_case]
    people = list(t.state.people)
    more = {"refusal": w.refusal, "command": w.command, "reason": w.reason,
            "late": late_note(p, w.late_since, ctx.now, w.late_what),
            "stage_overdue": case.stage_due_at <= ctx.now and case.status == "open",
            "told": told_rows(p, people, t.tell, case.stage), "missing": missing_words(p, case, w.missing),
            "involve_reasons": [i.why for i in p.policy.involve if i.role in w.involved],
            "failed": w.failed, "severity": w.severity, "detail": (w.detail or "")[:300] or None,
            "replaced": [list(pair) for pair in t.replaced], **(extra or {})}
    if w.next_stage_name:
        more["next_stage_name"] = w.next_stage_name
    if w.passages:
        more["passages"] = passage_rows(w.passages)
    if history is not None:
        more["history"] = history
    values = case_values(p, case, people, statement=w.statement, actor=w.actor, extra=more)
    return [Letter(tell.kind, to, values, in_reply_to=message_id if tell.answer else None,
                   auto="auto-replied" if tell.kind in AUTO_REPLIED and tell.answer and message_id
                   else "auto-generated")
            for tell in tells for to in tell.to]


# The letters that carry the Notification's "Record of discussions".
_FOR_THE_BOARD = ("resolution_record", "final_route")


def discussions(session: Session, ctx: Context, case: Case, people) -> list[dict]:
    """The record of discussions: the intake's "Discussions so far", then every UPDATE and
    every statement made with an accepted keyword, each with who wrote it and when."""
    names = {}
    for p in people:
        names.setdefault(p.email, person(p))
    rows = [{"at": when(ctx.partnership, case.raised_at), "who": names.get(next(
        (p.email for p in people if p.role == "raiser"), ""), "the raiser") + " (at intake)", "text": case.discussions}
        ] if case.discussions else []
    return rows + [{"at": when(ctx.partnership, e.at), "who": names.get(e.actor, e.actor), "text": e.statement}
                   for e in record.events(session, case) if e.kind in DISCUSSION_KINDS and e.statement]


def _history(session: Session, ctx: Context, case: Case) -> list[dict]:
    """The case so far, for the people of a new stage (mail entries left out)."""
    return [{"at": when(ctx.partnership, e.at), "summary": e.summary, "statement": e.statement}
            for e in record.events(session, case) if e.kind != "mail_out"]
