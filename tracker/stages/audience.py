"""Who is told, and who may act: read from a case's people and the partnership's rules.
No letter about a case goes outside the partnership (`Rules.reaches`)."""
from __future__ import annotations

from tracker.policy.model import Stage
from tracker.stages.rules import Rules
from tracker.stages.state import CaseState, Person, Tell

# Policy roles that the intake's four people fill; anyone else is found in the directory.
INTAKE_ROLE_FOR = {
    "practitioner": ("raiser", "other_party"),
    "line_manager": ("raiser_manager", "other_manager"),
    "safeguarding_lead": ("raiser_manager", "other_manager"),
}

# Letters that answer the person who wrote: refused, closed_case, no_keyword, final_stage, ...
_TO_RAISER = ("confirmation", "acknowledged", "escalation_feedback", "may_escalate", "final_route_feedback",
              "routed_feedback", "delivery_failed_feedback")


def is_raiser(mine: list[Person]) -> bool:
    return any(p.role == "raiser" for p in mine)


def throughout(p: Person) -> bool:
    """The raiser, and those a policy brings in for the whole case (the IRO, the CP chairs),
    are parties of every stage."""
    return p.role == "raiser" or p.side == "oversight"


def may_act_at(stage: Stage, mine: list[Person]) -> bool:
    """The raiser and the people brought in for the whole case act at every stage; the
    intake's people at the stages their role fills; anyone brought in at a stage, at that stage."""
    roles = {r for role in stage.parties for r in INTAKE_ROLE_FOR.get(role, ())}
    return any(throughout(p) or p.role in roles or p.stage == stage.key for p in mine)


def acting_at(state: CaseState) -> list[str]:
    """Who is told of the current stage: its people and those on the case throughout (not
    the raiser, who hears through their own letters)."""
    return [p.email for p in state.people if (p.stage == state.stage or p.side == "oversight") and not p.bounced]


def audience(kind: str, state: CaseState, rules: Rules, sender: str | None) -> tuple[str, ...]:
    """The addresses a letter of `kind` goes to, each once."""
    people = state.people
    everyone = [p.email for p in people if not p.bounced]
    if kind == "confirmation":  # and to whoever sent it for the raiser: both must know
        pick = [p.email for p in people if p.role in ("raiser", "submitter")]
    elif kind in _TO_RAISER:
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
    at_stage = acting_at(state)
    stage_only = [p.email for p in people if p.stage == state.stage and not p.bounced]
    oversight = [p.email for p in people if p.side == "oversight" and not p.bounced]
    pick = {
        "notice": [p.email for p in people if p.role == "other_party" and not p.bounced],
        "reminder": (stage_only or [p.email for p in people if p.role == "other_party" and not p.bounced])
        + oversight,
        "escalated": at_stage,
        "final_route": [p.email for p in people if p.side == "board"] or support,
        "resolution_record": support,
        "route_request": support,
        "delivery_failed": support,
        "conference_requested": [lead] if lead else support,
        "immediate_risk_alert": [lead] if lead else [],
    }.get(kind)
    return pick if pick is not None else ([sender] if sender else [])


def tell(rules: Rules, state: CaseState, kinds: tuple[str, ...], sender: str | None,
         answer: str | bool = False) -> tuple[Tell, ...]:
    """One Tell per kind that has someone to go to. `answer`: the kinds threaded to the
    message that caused them (True: all of them)."""
    out = []
    for kind in kinds:
        to = audience(kind, state, rules, sender)
        if to:
            out.append(Tell(kind, to, answer=answer is True or answer == kind))
    return tuple(out)


def told(rules: Rules, kind: str, to, answer: bool = False) -> tuple[Tell, ...]:
    """A Tell of `kind` to the named addresses the partnership's mail may reach, if any (for
    the letters whose people the machine names itself: those just brought in or routed)."""
    reach = tuple(dict.fromkeys(e for e in to if rules.reaches(e)))
    return (Tell(kind, reach, answer=answer),) if reach else ()
