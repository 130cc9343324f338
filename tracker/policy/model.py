"""Escalation policies as data: stages, who acts, working days, what happens when time runs out.

A policy is built from a mapping shaped like config.toml's [policy] table, and checked on the
way in, so a policy that makes no sense (no stages, negative days, an unknown party) is
refused at start-up with the key that is wrong. The four presets (tracker/policy/presets.py) go
through the same check (tracker/policy/build.py).

    >>> from tracker.policy.build import PRESETS
    >>> [(s.key, n) for s, n in PRESETS["wolverhampton"].cumulative()]
    [('1', 5), ('2', 7), ('3', 10), ('4', 14), ('exceptional', 19)]
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.policy.calendar import WorkingCalendar

ROLES: tuple[str, ...] = (
    "practitioner", "line_manager", "safeguarding_lead", "senior_manager", "head_of_service",
    "designated_lead", "director", "board_representative", "board_manager", "independent_chair",
    "qa_chair", "board_chair", "risk_management_panel", "iro", "cp_chair")
BOARD_ROLES: tuple[str, ...] = ("board_manager", "independent_chair", "qa_chair", "board_chair",
                                 "risk_management_panel")  # the Board's own people ([board]), not an agency's
ON_EXPIRY = ("escalate", "notify_raiser", "final")
INVOLVE_WHEN = ("looked_after", "conference")  # what brings someone onto a case throughout
# When a stage whose predecessor ran out starts its clock: at the time the predecessor was
# due (its timetable holds whenever the service noticed), or when it really began.
STAGE_CLOCKS = ("previous_deadline", "stage_start")
COUNTS_FROM = ("stage_start", "previous_step", "resolution", "decision")
MAX_WORKING_DAYS = 260  # a year: more is a typo, not a policy


@dataclass(frozen=True)
class Step:
    """A sub-step with its own limit, e.g. Wolverhampton's 'referred in writing within 24 hours'."""
    name: str
    working_days: int | None
    hours: int | None
    description: str
    counts_from: str = "stage_start"  # one of COUNTS_FROM


@dataclass(frozen=True)
class Stage:
    key: str
    name: str
    parties: tuple[str, ...]
    working_days: int
    steps: tuple[Step, ...] = ()
    may_request_conference: bool = False
    on_expiry: str = "escalate"  # escalate: to the next stage; notify_raiser: tell the raiser they may
    description: str = ""
    assumption: str | None = None  # set when the number is not from the seed
    # False: reached only on request and not in the policy's total (Wolverhampton's exceptional)
    in_chain: bool = True
    # (role, stand-in): a side whose agency has nobody for `role` goes to the stand-in instead
    # (Wiltshire: the agency's Board representative, else the Board manager)
    fallback: tuple[tuple[str, str], ...] = ()
    # reaching this stage is a referral to the Board (the Notification's "Date referred")
    board_referral: bool = False
    # one line for mails that state this stage's deadline, when its number is assumed
    assumption_line: str | None = None

    def agency_roles(self) -> tuple[str, ...]:
        """The roles each side's agency fills at this stage (the rest are the Board's)."""
        return tuple(r for r in self.parties if r not in BOARD_ROLES)

    def stand_in(self, role: str) -> str | None:
        return dict(self.fallback).get(role)


@dataclass(frozen=True)
class Involve:
    """Someone a policy brings onto a case as a party of every stage, when `when` holds:
    West Sussex's Independent Reviewing Officer for a looked-after child ("looked_after"),
    its Child Protection Chairs for a conference dispute ("conference")."""
    role: str
    when: str
    why: str


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    stages: tuple[Stage, ...]
    immediate_risk: str
    emergency_contacts: tuple[tuple[str, str], ...]
    final_route: str
    source: str
    assumptions: tuple[str, ...]
    immediate_risk_stage: str = ""  # the stage an immediate-risk escalation starts at; "" = the first
    aim_working_days: int | None = None
    notes: tuple[str, ...] = ()
    involve: tuple[Involve, ...] = ()
    stage_clock: str = "previous_deadline"  # one of STAGE_CLOCKS
    # one line for mails that state an immediate-risk deadline, when the same-day rule is assumed
    immediate_risk_assumption: str | None = None

    def stage(self, key) -> Stage:
        for s in self.stages:
            if s.key == str(key):
                return s
        raise KeyError(f"policy {self.name!r} has no stage {key!r}; its stages are "
                       f"{', '.join(s.key for s in self.stages)}")

    def first(self) -> Stage:
        return self.stages[0]

    def next_stage(self, key) -> Stage | None:
        i = self.stages.index(self.stage(key))
        return self.stages[i + 1] if i + 1 < len(self.stages) else None

    def cumulative(self) -> list[tuple[Stage, int]]:
        """Each stage with the working days from raising to its end, every earlier stage having
        used its full time; a stage outside the chain is counted on from the one before it."""
        total, out = 0, []
        for s in self.stages:
            total += s.working_days
            out.append((s, total))
        return out

    def total_working_days(self) -> int:
        """The policy's own cumulative total: the stages in the chain (Wolverhampton: 14)."""
        return sum(s.working_days for s in self.stages if s.in_chain)

    def start_stage(self, immediate_risk: bool = False) -> Stage:
        return self.stage(self.immediate_risk_stage or self.first().key) if immediate_risk else self.first()

    def involved(self, when: str) -> tuple[Involve, ...]:
        return tuple(i for i in self.involve if i.when == when)


def deadlines(policy: Policy, calendar: WorkingCalendar, raised: datetime,
              immediate_risk: bool = False) -> list[tuple[Stage, datetime]]:
    """Each stage's due time (aware UTC), every earlier stage having used its full time.

    With immediate risk the case starts at the policy's immediate-risk stage and every stage
    from there has the same-day rule: the start stage is due at the close of day zero, and
    each later one at the close of the working day after the one before (what the case
    machine does when it escalates an immediate-risk case with 0 working days)."""
    start = policy.start_stage(immediate_risk)
    day0 = calendar.day_zero(raised)
    total, out = 0, []
    for i, s in enumerate(policy.stages[policy.stages.index(start):]):
        total = i if immediate_risk else total + s.working_days
        out.append((s, calendar.close_of(calendar.add_working_days(day0, total))))
    return out
