"""The deadline sweep: a pure selection by time, writing outgoing rows for the outbox.

The database is the source of truth for every deadline, so after downtime each missed
notice is sent once, marked late, in due order. Each stage's on-expiry rule runs once.
"""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from tracker.cases import changes as cases
from tracker.cases import record
from tracker.outgoing.letters import audience, case_values, letters, when
from tracker.storage.models import Case, Party

LATE_AFTER = timedelta(minutes=15)  # a notice sent later than this after its time says so


def sweep(session: Session, ctx: cases.Context) -> list[str]:
    """Send due reminders and apply expired stages' rules; returns the case refs touched."""
    touched = [c.ref for c in _expired(session, ctx) if _expire(session, ctx, c)]
    touched += [c.ref for c in _reminders_due(session, ctx) if _remind(session, ctx, c)]
    return touched


def _expired(session: Session, ctx: cases.Context) -> list[Case]:
    return list(session.exec(select(Case).where(
        Case.partnership == ctx.partnership.id, Case.status == "open", Case.stage_due_at <= ctx.now,
        Case.expiry_handled_at.is_(None)).order_by(Case.stage_due_at, Case.id)))


def _reminders_due(session: Session, ctx: cases.Context) -> list[Case]:
    return list(session.exec(select(Case).where(
        Case.partnership == ctx.partnership.id, Case.status == "open", Case.remind_at.is_not(None),
        Case.remind_at <= ctx.now).order_by(Case.remind_at, Case.id)))


def late_note(partnership, due, now) -> str | None:
    return f"This notice is late: the time ran out on {when(partnership, due)}." if now - due > LATE_AFTER else None


def _remind(session: Session, ctx: cases.Context, case: Case) -> bool:
    p = ctx.partnership
    due_at, case.remind_at = case.remind_at, None
    session.add(case)
    if ctx.now >= case.stage_due_at:
        return False  # too late to remind: the expiry rule speaks instead
    people = cases.parties(session, case)
    event = record.append(session, case, at=ctx.now, kind="reminder", actor="service",
                          summary=f"reminder: stage {case.stage} due {when(p, case.stage_due_at)}")
    values = case_values(p, case, people, extra={"late": late_note(p, due_at, ctx.now)})
    cases.send(session, ctx, case, event.seq, letters(["reminder"], lambda k: responders(people, case), values),
               [case.thread_id])
    return True


def responders(people: list[Party], case: Case) -> list[str]:
    """Who must act by the due time: at the first stage the other party, later the stage's people."""
    staged = [p.email for p in people if p.stage == case.stage]
    return list(dict.fromkeys(staged or [p.email for p in people if p.role == "other_party"]))


def _expire(session: Session, ctx: cases.Context, case: Case) -> bool:
    p = ctx.partnership
    stage = p.policy.stage(case.stage)
    due = case.stage_due_at
    late = late_note(p, due, ctx.now)
    nxt = p.policy.next_stage(case.stage)
    case.expiry_handled_at = ctx.now
    event = record.append(session, case, at=ctx.now, kind="deadline_passed", actor="service",
                          summary=f"stage {stage.key} ({stage.name}) ran out unresolved at {when(p, due)}")
    if stage.on_expiry == "escalate" and nxt is not None:
        cases.escalate(session, ctx, case, nxt.key, event.seq, reason="deadline", late=late)
        return True
    kinds = ["may_escalate"] if stage.on_expiry == "notify_raiser" and nxt is not None else ["final_route"]
    people = cases.parties(session, case)
    values = case_values(p, case, people, extra={"late": late, "next_stage_name": nxt.name if nxt else None})
    batch = letters(kinds + (["final_route_feedback"] if kinds == ["final_route"] else []),
                    lambda k: audience(k, people, case, p, None), values)
    session.add(case)
    cases.send(session, ctx, case, event.seq, batch, [case.thread_id])
    return True
