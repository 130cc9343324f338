"""Calendar entries that follow their case: each deadline sent as an .ics is remembered, so
that when the machine says the stage's deadline no longer stands (`Transition.calendar`
"cancel") or has moved ("update"), everyone who has it gets a METHOD:CANCEL or the entry
again, with the same UID and a higher SEQUENCE (tracker/outgoing/ics.py)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.cases.context import Context
from tracker.cases.state import people_of
from tracker.outgoing import ics
from tracker.outgoing.letter import Later, Letter
from tracker.outgoing.letters import case_values
from tracker.storage.models import Case, CalendarEntry


def remember(session: Session, case, keyed: list[tuple[Letter, str]], ids: list[int | None],
             fresh: bool = False) -> None:
    """Note the calendar entries of the letters just queued (none for a key queued before).
    `fresh`: the case was opened in this transaction and has none yet."""
    rows = [(letter.to, a.args) for (letter, _), row_id in zip(keyed, ids) if row_id is not None
            for a in letter.attachments if isinstance(a, Later) and a.maker == "deadline_ics"]
    if not rows:
        return
    have = set() if fresh else {(e.uid, e.recipient) for e in session.exec(
        select(CalendarEntry).where(CalendarEntry.case_id == case.id))}
    new = []
    for to, args in rows:
        if (args["uid"], to) not in have:
            have.add((args["uid"], to))
            new.append(dict(case_id=case.id, uid=args["uid"], recipient=to, stage=args["stage_key"],
                            sequence=args.get("sequence", 0), due_at=datetime.fromisoformat(args["due"]),
                            cancelled_at=None))
    if new:
        session.execute(sa.insert(CalendarEntry.__table__), new)


def follow(session: Session, ctx: Context, case: Case, what: str, key: int | str) -> list[tuple[str, Letter]]:
    """Cancel every live entry of `case` ("cancel"), or move the current stage's entries to
    its new due time ("update"); returns the letters that say so, each with the key of its
    change, for the people the case can still reach."""
    out = []
    people = people_of(session, case)
    reachable = {p.email for p in people if not p.bounced}
    live = session.exec(select(CalendarEntry).where(CalendarEntry.case_id == case.id,
                                                    CalendarEntry.cancelled_at.is_(None))
                        .order_by(CalendarEntry.id)).all()
    for entry in live:
        if what == "update" and (entry.stage != case.stage or entry.due_at == case.stage_due_at):
            continue
        entry.sequence += 1
        if what == "cancel":
            entry.cancelled_at = ctx.now
            doc = ics.cancel_ics(ctx.partnership, case.ref, entry.stage, entry.uid, entry.due_at, entry.sequence,
                                 ctx.now)
        else:
            entry.due_at = case.stage_due_at
            doc = ics.deadline_ics(ctx.partnership, case, ctx.now, entry.sequence)
        session.add(entry)
        if entry.recipient in reachable:
            stage = ctx.partnership.policy.stage(entry.stage)
            values = case_values(ctx.partnership, case, list(people), extra={
                "old_stage_key": stage.key, "old_stage_name": stage.name})
            kind = "calendar_cancelled" if what == "cancel" else "calendar_updated"
            out.append((f"{key}.cal{entry.id}", Letter(kind, entry.recipient, values, attachments=(doc,))))
    session.flush()
    return out
