"""Who is told, and who may act: read from a case's people and the partnership's rules.
No letter about a case goes outside the partnership (`Rules.reaches`)."""
from __future__ import annotations

from tracker.policy.model import Stage
from tracker.policy.rules import Rules
from tracker.policy.state import CaseState, Person

# Policy roles that the intake's four people fill; anyone else is found in the directory.
INTAKE_ROLE_FOR = {
    "practitioner": ("raiser", "other_party"),
    "line_manager": ("raiser_manager", "other_manager"),
    "safeguarding_lead": ("raiser_manager", "other_manager"),
}

# Letters that answer the person who wrote: refused, closed_case, no_keyword, final_stage, ...
_TO_RAISER = ("confirmation", "acknowledged", "escalation_feedback", "may_escalate", "final_route_feedback")


def is_raiser(mine: list[Person]) -> bool:
    return any(p.role == "raiser" for p in mine)


def may_act_at(stage: Stage, mine: list[Person]) -> bool:
    """The raiser acts at every stage; the intake's people at the stages their role fills;
    anyone brought in at a stage, at that stage."""
    roles = {r for role in stage.parties for r in INTAKE_ROLE_FOR.get(role, ())}
    return any(p.role == "raiser" or p.role in roles or p.stage == stage.key for p in mine)


def audience(kind: str, state: CaseState, rules: Rules, sender: str | None) -> tuple[str, ...]:
    """The addresses a letter of `kind` goes to, each once."""
    people = state.people
    everyone = [p.email for p in people]
    if kind in _TO_RAISER:
        pick = [p.email for p in people if p.role == "raiser"]
    elif kind in ("resolved", "withdrawn"):
        pick = everyone
    elif kind == "update":
        pick = [e for e in everyone if e != sender]
    else:
        pick = _beyond(kind, state, rules, sender)
    return tuple(dict.fromkeys(e for e in pick if rules.reaches(e)))


def _beyond(kind: str, state: CaseState, rules: Rules, sender: str | None) -> list[str]:
    people, lead = state.people, rules.safeguarding_lead
    support = list(rules.business_support)
    pick = {
        "notice": [p.email for p in people if p.role == "other_party"],
        "reminder": [p.email for p in people if p.stage == state.stage]
        or [p.email for p in people if p.role == "other_party"],
        "escalated": [p.email for p in people if p.stage == state.stage],
        "final_route": [p.email for p in people if p.side == "board"] or support,
        "resolution_record": support,
        "route_request": support,
        "delivery_failed": support,
        "conference_requested": [lead] if lead else support,
        "immediate_risk_alert": [lead] if lead else [],
    }.get(kind)
    return pick if pick is not None else ([sender] if sender else [])
