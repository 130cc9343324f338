"""What letters say: the values every template sees."""
from __future__ import annotations

from datetime import datetime, timedelta

from tracker.policy.calendar import spoken
from tracker.policy.model import deadlines
from tracker.storage.models import Case, Party

LATE_AFTER = timedelta(minutes=15)  # a notice sent later than this after its time says so

KEYWORDS = (
    ("ACKNOWLEDGED", "you have seen this and are looking into it"),
    ("RESOLVED", "you have agreed an outcome (write it after the keyword)"),
    ("ESCALATE", "you cannot agree: the case moves to the next stage now"),
    ("UPDATE", "add a note of a discussion to the record"),
    ("WITHDRAW", "the raiser no longer needs this escalation"),
    ("CONFERENCE REQUESTED", "a child protection conference has been requested"),
)


def when(partnership, dt: datetime | None) -> str:
    """A due time as a busy reader wants it: 'Friday 27 November 2026, 17:00'."""
    return spoken(partnership.calendar, dt)


def late_note(partnership, due: datetime | None, now: datetime) -> str | None:
    """What a notice sent well after its time says first."""
    if due is None or now - due <= LATE_AFTER:
        return None
    return f"This notice is late: the time ran out on {when(partnership, due)}."


def person(p: Party) -> str:
    parts = [x for x in (p.name, p.title, p.agency) if x]
    return f"{', '.join(parts)} <{p.email}>" if parts else p.email


def case_values(partnership, case: Case, parties: list[Party], *, statement: str | None = None,
                actor: str | None = None, extra: dict | None = None) -> dict:
    policy = partnership.policy
    stage = policy.stage(case.stage)
    nxt = policy.next_stage(case.stage)
    values = {
        "partnership": partnership.name,
        "address": partnership.address,
        "case": case,
        "ref": case.ref,
        "stage_key": stage.key,
        "stage_name": stage.name,
        "stage_due": when(partnership, case.stage_due_at),
        "next_stage_name": nxt.name if nxt else None,
        "raised": when(partnership, case.raised_at),
        "parties": [{"role": p.role.replace("_", " "), "who": person(p)} for p in parties],
        "raiser": next((person(p) for p in parties if p.role == "raiser"), ""),
        "other_party": next((person(p) for p in parties if p.role == "other_party"), ""),
        "keywords": KEYWORDS,
        "emergency_contacts": list(policy.emergency_contacts),
        "immediate_risk_rule": policy.immediate_risk,
        "final_route": policy.final_route,
        "policy_title": policy.title,
        "statement": statement,
        "actor": actor,
        "decision_date": case.decision_date.strftime("%d %B %Y").lstrip("0"),
        "steps": stage_steps(partnership, case),
    }
    values.update(extra or {})
    return values


def deadline_rows(partnership, case: Case) -> list[dict]:
    rows = deadlines(partnership.policy, partnership.calendar, case.raised_at, immediate_risk=case.immediate_risk)
    return [{"key": s.key, "name": s.name, "due": when(partnership, due)} for s, due in rows]


def stage_steps(partnership, case: Case) -> list[dict]:
    """The current stage's own steps (Wolverhampton's 'referred in writing within 24 hours'),
    each with its limit and, where it runs from the stage's start, the time it falls due."""
    cal, start = partnership.calendar, case.stage_started_at
    rows, previous = [], start
    for step in partnership.policy.stage(case.stage).steps:
        due = None
        anchor = {"stage_start": start, "previous_step": previous}.get(step.counts_from)
        if anchor is not None and step.hours is not None:
            due = anchor + timedelta(hours=step.hours)
        elif anchor is not None and step.working_days is not None:
            due = cal.due(anchor, step.working_days)
        previous = due or previous
        rows.append({"name": step.name, "what": step.description, "due": when(partnership, due) if due else None})
    return rows
