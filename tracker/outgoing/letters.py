"""What letters say: the values every template sees."""
from __future__ import annotations

from datetime import datetime, timedelta

from parser.form import LABEL_NAMES
from tracker.policy.calendar import spoken
from tracker.policy.model import BOARD_ROLES, deadlines
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

ROLE_NAMES = {
    "practitioner": "practitioner", "line_manager": "line manager", "safeguarding_lead": "safeguarding lead",
    "senior_manager": "senior manager", "head_of_service": "head of service", "designated_lead": "designated lead",
    "director": "director", "board_representative": "Board representative", "board_manager": "Board manager",
    "independent_chair": "independent chair", "qa_chair": "QA sub-group chair", "board_chair": "Board chair",
    "risk_management_panel": "Risk Management Panel", "iro": "Independent Reviewing Officer (IRO)",
    "cp_chair": "Child Protection Chair", "raiser": "raiser", "raiser_manager": "raiser's manager",
    "other_party": "other party", "other_manager": "other party's manager",
}

# What each Tell kind means for the person it went to, in "who has been told".
_TOLD_AS = {"notice": "the other party: asked to respond", "escalated": "named for stage {stage}: sent the case",
            "routed": "added by business support for stage {stage}: sent the case",
            "involved": "brought onto the case throughout: sent the case",
            "immediate_risk_alert": "the designated safeguarding lead: alerted now"}


def when(partnership, dt: datetime | None) -> str:
    """A due time as a busy reader wants it: 'Friday 27 November 2026, 17:00'."""
    return spoken(partnership.calendar, dt)


def late_note(partnership, due: datetime | None, now: datetime, what: str | None = None) -> str | None:
    """What a notice sent well after its time says first, in the words of what was due."""
    if due is None or now - due <= LATE_AFTER:
        return None
    if what == "reminder":
        return f"This reminder is late: it was due on {when(partnership, due)}."
    return f"This notice is late: the previous stage's time ran out on {when(partnership, due)}."


def person(p: Party) -> str:
    parts = [x for x in (p.name, p.title, p.agency) if x]
    return f"{', '.join(parts)} <{p.email}>" if parts else p.email


def role_name(role: str) -> str:
    return ROLE_NAMES.get(role, role.replace("_", " "))


def professionals(parties: list) -> list[dict]:
    """Each person once (the intake's managers also stand at the stages they act at), with
    every role they had on the case."""
    seen: dict[str, dict] = {}
    for p in parties:
        row = seen.setdefault(p.email, {"who": person(p), "roles": []})
        name = role_name(p.role) + (f" (stage {p.stage})" if p.stage else "")
        if name not in row["roles"]:
            row["roles"].append(name)
    return [{"who": r["who"], "role": ", ".join(r["roles"])} for r in seen.values()]


def case_values(partnership, case: Case, parties: list[Party], *, statement: str | None = None,
                actor: str | None = None, extra: dict | None = None) -> dict:
    policy = partnership.policy
    stage = policy.stage(case.stage)
    nxt = policy.next_stage(case.stage)
    values = {
        "partnership": partnership.name,
        "address": partnership.address,
        "business_support": list(partnership.business_support),
        "case": case,
        "ref": case.ref,
        "stage_key": stage.key,
        "stage_name": stage.name,
        "stage_due": when(partnership, case.stage_due_at),
        "next_stage_name": nxt.name if nxt else None,
        "raised": when(partnership, case.raised_at),
        "closed": when(partnership, case.closed_at) if case.closed_at else None,
        "referred": when(partnership, case.referred_to_board_at) if case.referred_to_board_at else None,
        "discussions": [],
        "parties": professionals(parties),
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
        "assumed": assumed_lines(partnership, case),
        "clock_stopped": case.clock_stopped_at is not None,
        "deadlines": deadline_rows(partnership, case),
        "timetable_assumed": timetable_assumptions(partnership, case),
        "warnings": [],
    }
    values.update(extra or {})
    return values


def assumed_lines(partnership, case: Case) -> list[str]:
    """One line for each deadline a mail states that rests on a number the policy does not
    give (its preset's assumption, until the partnership confirms it in config.toml)."""
    policy = partnership.policy
    if case.immediate_risk and policy.immediate_risk_assumption:
        return [f"Same-day deadline: {policy.immediate_risk_assumption}."]
    stage = policy.stage(case.stage)
    return [f"Stage {stage.key}: {stage.assumption_line}."] if stage.assumption_line else []


def timetable_assumptions(partnership, case: Case) -> list[str]:
    """The same, for every stage of the timetable a confirmation lists."""
    policy = partnership.policy
    if case.immediate_risk and policy.immediate_risk_assumption:
        return [f"Same-day deadlines: {policy.immediate_risk_assumption}."]
    start = policy.stages.index(policy.start_stage(case.immediate_risk))
    return [f"Stage {s.key}: {s.assumption_line}." for s in policy.stages[start:] if s.assumption_line]


def deadline_rows(partnership, case: Case) -> list[dict]:
    rows = deadlines(partnership.policy, partnership.calendar, case.raised_at, immediate_risk=case.immediate_risk)
    return [{"key": s.key, "name": s.name, "due": when(partnership, due)} for s, due in rows]


def stage_steps(partnership, case: Case) -> list[dict]:
    """The current stage's own steps (Wolverhampton's 'referred in writing within 24 hours'),
    each with its limit and, where it runs from the stage's start, the time it falls due: a
    limit in hours that ends outside working time moves to the next working day's close, and
    no step is due after the stage itself (the same-day timetable shortens them all)."""
    cal, start, end = partnership.calendar, case.stage_started_at, case.stage_due_at
    rows, previous = [], start
    for step in partnership.policy.stage(case.stage).steps:
        due = None
        anchor = {"stage_start": start, "previous_step": previous}.get(step.counts_from)
        if anchor is not None and step.hours is not None:
            due = cal.clock_hours(anchor, step.hours)
        elif anchor is not None and step.working_days is not None:
            due = cal.due(anchor, step.working_days)
        capped = due is not None and due > end
        due = min(due, end) if due is not None else None
        previous = due or previous
        rows.append({"name": step.name, "what": step.description, "due": when(partnership, due) if due else None,
                     "capped": capped})
    return rows


def missing_words(partnership, case: Case, missing: tuple[str, ...] | list[str]) -> list[str]:
    """Who is still being found, as business support and the raiser read it."""
    stage = partnership.policy.stage(case.stage)
    agency = " or ".join(role_name(r) for r in stage.agency_roles() if r != "practitioner") or "people"
    board = " or ".join(role_name(r) for r in stage.parties if r in BOARD_ROLES) or "people"
    words = {
        "raiser": f"the raising agency ({case.raiser_agency or 'not known'}): nobody is known as its {agency} "
                  f"for stage {stage.key}",
        "other": f"the receiving agency ({case.other_agency or 'not known'}): nobody is known as its {agency} "
                 f"for stage {stage.key}",
        "board": f"the Board: nobody is known as its {board} for stage {stage.key}",
    }
    return [words.get(m) or f"the {role_name(m)}, who the policy brings onto this case" for m in missing]


def told_rows(partnership, people: list, tells, stage_key: str) -> list[dict]:
    """Who a change told, and as what, for the raiser's feedback (never the raiser)."""
    by_email = {}
    for p in people:
        by_email.setdefault(p.email, p)
    rows, seen = [], set()
    for t in tells:
        as_what = _TOLD_AS.get(t.kind)
        for to in (t.to if as_what else ()):
            if to not in seen:
                seen.add(to)
                who = by_email.get(to)
                label = as_what.format(stage=stage_key)
                if who is not None and t.kind == "involved":
                    label = f"{role_name(who.role)}: brought onto the case throughout, sent the case"
                rows.append({"who": person(who) if who is not None else to, "as": label})
    return rows


def passage_rows(passages) -> list[dict]:
    """What was held back, for the letter that says so: the field as the form names it, the words, what they
    seem to be, and how to anonymise them."""
    return [{"field": LABEL_NAMES.get(p.field, p.field.replace("_", " ").capitalize()), "words": p.words,
             "what": p.what, "how": p.how} for p in passages]
