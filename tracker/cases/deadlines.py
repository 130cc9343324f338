"""The deadline sweep: which cases' times have come, by a query on the database (the source
of truth for every deadline, so after downtime each missed notice is sent once, marked late,
in due order). What each time does is the stage machine's; each stage's expiry runs once.
After a long outage a case whose next stage also ran out meanwhile moves on again in the
same sweep (every stage keeps the time the policy gave it). A stage whose clock a bounce
stopped is left until business support corrects or routes it."""
from __future__ import annotations

from sqlmodel import Session, select

from tracker.cases.context import Context
from tracker.cases.effects import apply
from tracker.cases.state import verified_state
from tracker.stages.machine import DeadlinePassed, ReminderDue, advance
from tracker.storage.models import Case


def sweep(session: Session, ctx: Context) -> list[str]:
    """Apply expired stages' rules and send due reminders; returns the case refs touched."""
    touched = []
    stuck: set[int] = set()  # cases the machine would not move (a record that does not verify): once a sweep
    for _ in range(len(ctx.partnership.policy.stages)):  # each pass moves a case one stage at most
        expired = [case for case in _expired(session, ctx) if case.id not in stuck]
        for case in expired:
            t = advance(ctx.rules, verified_state(session, case), DeadlinePassed(), ctx.now)
            apply(session, ctx, case, t, key=f"expired{case.stage}")
            if t.allowed:
                touched.append(case.ref)
            else:
                stuck.add(case.id)
        if not expired:
            break
    for case in _reminders_due(session, ctx):
        t = advance(ctx.rules, verified_state(session, case), ReminderDue(case.remind_at), ctx.now)
        apply(session, ctx, case, t, key=f"remind{case.stage}")
        if t.allowed:
            touched.append(case.ref)
    return list(dict.fromkeys(touched))


def _expired(session: Session, ctx: Context) -> list[Case]:
    return list(session.exec(select(Case).where(
        Case.partnership == ctx.partnership.id, Case.status == "open", Case.stage_due_at <= ctx.now,
        Case.expiry_handled_at.is_(None), Case.clock_stopped_at.is_(None)).order_by(Case.stage_due_at, Case.id)))


def _reminders_due(session: Session, ctx: Context) -> list[Case]:
    return list(session.exec(select(Case).where(
        Case.partnership == ctx.partnership.id, Case.status == "open", Case.remind_at.is_not(None),
        Case.remind_at <= ctx.now, Case.clock_stopped_at.is_(None)).order_by(Case.remind_at, Case.id)))
