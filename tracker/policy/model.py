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
ON_EXPIRY = ("escalate", "notify_raiser", "final")
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
