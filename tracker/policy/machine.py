"""The stage machine: data plus one pure function, tested as a table.

`decide(case, command, sender)` says what a reply does, with no I/O: whether the sender
may do it, the case's new status and stage, what to record and who to tell.
"""
from __future__ import annotations

from dataclasses import dataclass

# Policy roles that the intake's four people fill; anyone else is found in the directory.
INTAKE_ROLE_FOR = {
    "practitioner": ("raiser", "other_party"),
    "line_manager": ("raiser_manager", "other_manager"),
    "safeguarding_lead": ("raiser_manager", "other_manager"),
}

# Who may send each keyword (CONTRACT.md §2).
WHO_MAY = {
    "acknowledged": "stage",
    "resolved": "stage",
    "escalate": "stage",
    "conference_requested": "stage",
    "update": "party",
    "withdraw": "raiser",
}


@dataclass(frozen=True)
class Sender:
    """What the sender is on this case: derived from the case's parties, exact address match."""

    is_party: bool
    is_raiser: bool
    acts_at_stage: bool


@dataclass(frozen=True)
class CaseState:
    status: str  # open | resolved | withdrawn
    stage: str
    next_stage: str | None
    may_request_conference: bool
    acknowledged: bool


@dataclass(frozen=True)
class Decision:
    outcome: str  # the event kind recorded, or the refusal reason
    allowed: bool
    status: str | None = None  # new status, if it changes
    stage: str | None = None  # new stage, if it changes
    tell: tuple[str, ...] = ()  # letter kinds to send


def decide(case: CaseState, command: str | None, sender: Sender) -> Decision:
    """What `command` from `sender` does to `case`.

    >>> s = CaseState("open", "1", "2", False, False)
    >>> decide(s, "escalate", Sender(True, True, True)).stage
    '2'
    """
    if not sender.is_party:
        return Decision("not_party", False, tell=("refused",))
    if case.status != "open":
        return Decision("closed_case_reply", False, tell=("closed_case",))
    if command is None:
        return Decision("no_keyword", False, tell=("no_keyword",))
    rule = WHO_MAY[command]
    if rule == "raiser" and not sender.is_raiser:
        return Decision("not_raiser", False, tell=("refused",))
    if rule == "stage" and not sender.acts_at_stage:
        return Decision("not_stage_party", False, tell=("refused",))
    return _apply(case, command)


def _apply(case: CaseState, command: str) -> Decision:
    if command == "acknowledged":
        if case.acknowledged:
            return Decision("acknowledged_again", True, tell=())
        return Decision("acknowledged", True, tell=("acknowledged",))
    if command == "resolved":
        return Decision("resolved", True, status="resolved", tell=("resolved", "resolution_record"))
    if command == "escalate":
        if case.next_stage is None:
            return Decision("no_further_stage", False, tell=("final_stage",))
        return Decision("escalated", True, stage=case.next_stage, tell=("escalated", "escalation_feedback"))
    if command == "withdraw":
        return Decision("withdrawn", True, status="withdrawn", tell=("withdrawn",))
    if command == "conference_requested":
        if not case.may_request_conference:
            return Decision("conference_not_at_stage", False, tell=("refused",))
        return Decision("conference_requested", True, tell=("conference_requested",))
    return Decision("update", True, tell=("update",))
