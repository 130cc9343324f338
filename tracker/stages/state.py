"""The values the stage machine reads and returns (tracker/stages/machine.py): a case's
state with its people, and the effects of an event on it. Plain frozen data, no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Person:
    """Someone on a case. `stage` is None for the people the intake names and those a
    policy brings in for the whole case (parties throughout); people brought in at a stage
    carry its key."""

    role: str  # raiser | raiser_manager | other_party | other_manager | a policy role
    side: str  # raiser | other | board | oversight (brought in for the whole case: the IRO, CP chairs)
    email: str
    stage: str | None = None
    name: str | None = None
    title: str | None = None
    agency: str | None = None
    bounced: bool = False  # a hard bounce said this address does not reach them


@dataclass(frozen=True)
class CaseState:
    status: str  # open | resolved | withdrawn
    stage: str
    immediate_risk: bool
    # when the stage's clock started: the previous stage's due time when that one ran out
    # (the policy's timetable holds however late the service noticed), else when it began
    stage_started_at: datetime
    stage_due_at: datetime
    remind_at: datetime | None = None
    acknowledged_at: datetime | None = None
    expiry_handled_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None
    policy_gap_flagged: bool = False
    debrief_requested: bool = False
    referred_to_board_at: datetime | None = None  # first reached a stage that is a referral to the Board
    # a hard bounce left one side of the stage with nobody who has its notice: the stage's
    # clock stands still from then until business support corrects the address or routes
    clock_stopped_at: datetime | None = None
    clock_stopped_for: str | None = None  # the side: raiser | other
    # what brings people onto the case for all of it (Policy.involve): a looked-after child,
    # a conference matter (its category, or a conference requested)
    looked_after: bool = False
    conference: bool = False
    people: tuple[Person, ...] = ()
    record_problem: str | None = None  # what `escalations case REF --verify` would report, if anything


# The columns of a case that the machine decides (CaseState's fields but its people).
DECIDED = ("status", "stage", "immediate_risk", "stage_started_at", "stage_due_at", "remind_at", "acknowledged_at",
           "expiry_handled_at", "closed_at", "outcome", "policy_gap_flagged", "debrief_requested",
           "referred_to_board_at", "clock_stopped_at", "clock_stopped_for", "looked_after", "conference")


# Record entries whose words are the Notification's "Record of discussions": what the
# parties and business support wrote with UPDATE or an accepted keyword (the outcome apart).
DISCUSSION_KINDS = ("update", "acknowledged", "acknowledged_again", "escalated", "conference_requested",
                    "withdrawn")


@dataclass(frozen=True)
class Entry:
    """One entry for the case's record, at the stage it belongs to."""

    kind: str
    actor: str
    summary: str
    statement: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class Tell:
    """A letter of `kind` to each address in `to`. `answer`: threaded to the message that
    caused it. `about_case`: False for an answer that must reveal nothing of the case."""

    kind: str
    to: tuple[str, ...]
    answer: bool = False
    about_case: bool = True


@dataclass(frozen=True)
class Words:
    """What the letters of one transition say beyond the case itself."""

    statement: str | None = None
    actor: str | None = None
    command: str | None = None
    refusal: str | None = None
    reason: str | None = None  # why a stage moved: "reply" | "deadline" | "immediate_risk" | "routed"
    late_since: datetime | None = None  # the time a late notice should have gone
    late_what: str | None = None  # what was due then: "deadline" (a stage ran out) | "reminder"
    next_stage_name: str | None = None
    missing: tuple[str, ...] = ()  # who is still being found: raiser | other | board | a role brought in
    involved: tuple[str, ...] = ()  # the roles brought onto the case by this change (iro, cp_chair)
    failed: str | None = None  # the address a mail could not be delivered to
    severity: str | None = None  # of that failure: hard | soft | delay
    detail: str | None = None  # the mail server's words about it
    passages: tuple = ()  # what was held back as personal data (parser.personal_data.Passage)


@dataclass(frozen=True)
class Transition:
    """What an event did: `outcome` names it (or why it was refused, `allowed` False)."""

    outcome: str
    allowed: bool
    state: CaseState | None
    entries: tuple[Entry, ...] = ()
    tell: tuple[Tell, ...] = ()
    words: Words = Words()
    added: tuple[Person, ...] = ()  # people who came onto the case
    history: bool = False  # the letters carry the case so far (a new stage's people)
    replaced: tuple[tuple[str, str], ...] = ()  # (old, new): an address replaced everywhere on the case
    # the calendar entries sent for the stage: "cancel" (its deadline no longer stands: moved
    # on, resolved, withdrawn) or "update" (its due time changed); None leaves them
    calendar: str | None = None
