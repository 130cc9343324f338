"""Writing what the stage machine decided (tracker/policy/machine.py), in the caller's
transaction: the case's columns, the people who came onto it, its record entries and its
letters. Nothing here decides; it reads a case into the machine's values and writes the
machine's answer back."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa
from sqlmodel import Session

from tracker.cases import record
from tracker.cases.context import Context
from tracker.cases.post import post
from tracker.outgoing.letter import Letter
from tracker.outgoing.letters import case_values, late_note, when
from tracker.cases.state import party_rows
from tracker.policy.state import DECIDED, Transition
from tracker.storage.models import Case, Party

# Letters that answer a person's own message (RFC 3834 "auto-replied"); the others a
# change of the case causes, threaded to the message that caused it where there is one.
AUTO_REPLIED = frozenset({"confirmation"})


def apply(session: Session, ctx: Context, case: Case, t: Transition, *, key: int | str,
          inbound_id: int | None = None, message_id: str | None = None, extra: dict | None = None) -> None:
    """Write `t` for `case`. `key` names the change for the letters' idempotency keys when it
    writes no record entry of its own; `inbound_id`/`message_id`: the message that caused it;
    `extra`: more values for its letters' templates."""
    if t.state is not None:
        for name in DECIDED:
            setattr(case, name, getattr(t.state, name))
        session.add(case)
        session.flush()
    if t.added:
        session.execute(sa.insert(Party.__table__), party_rows(case.id, t.added))
    written = record.append_many(session, case, entries(ctx.now, t, inbound_id))
    key = written[0].seq if written else key
    about = [tell for tell in t.tell if tell.about_case]
    if about:
        history = _history(session, ctx, case) if t.history else None
        post(session, ctx, case, key, letters_for(ctx, case, t, message_id, extra, history), [case.thread_id])
    for tell in (tell for tell in t.tell if not tell.about_case):
        values = {"partnership": ctx.partnership.name, "address": ctx.partnership.address, "ref": None}
        post(session, ctx, None, f"in{inbound_id}", [Letter(tell.kind, to, values, in_reply_to=message_id,
                                                            auto="auto-replied") for to in tell.to], [])


def entries(now: datetime, t: Transition, inbound_id: int | None) -> list[dict]:
    """The record entries of `t`; those a person's message caused point at that message."""
    return [dict(at=now, kind=e.kind, actor=e.actor, summary=e.summary, statement=e.statement, stage=e.stage,
                 inbound_id=inbound_id if e.actor != "service" else None) for e in t.entries]


def letters_for(ctx: Context, case: Case | SimpleNamespace, t: Transition, message_id: str | None,
                extra: dict | None = None, history: list[dict] | None = None) -> list[Letter]:
    """One letter per recipient of each of `t`'s Tells, with the values its template sees."""
    p, w = ctx.partnership, t.words
    more = {"refusal": w.refusal, "command": w.command, "reason": w.reason,
            "late": late_note(p, w.late_since, ctx.now), **(extra or {})}
    if w.next_stage_name:
        more["next_stage_name"] = w.next_stage_name
    if history is not None:
        more["history"] = history
    values = case_values(p, case, list(t.state.people), statement=w.statement, actor=w.actor, extra=more)
    return [Letter(tell.kind, to, values, in_reply_to=message_id if tell.answer else None,
                   auto="auto-replied" if tell.kind in AUTO_REPLIED and tell.answer and message_id
                   else "auto-generated")
            for tell in t.tell if tell.about_case for to in tell.to]


def _history(session: Session, ctx: Context, case: Case) -> list[dict]:
    """The case so far, for the people of a new stage (mail entries left out)."""
    return [{"at": when(ctx.partnership, e.at), "summary": e.summary, "statement": e.statement}
            for e in record.events(session, case) if e.kind != "mail_out"]
