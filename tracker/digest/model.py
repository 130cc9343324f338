"""The digest as values: numbers, case references, agencies, categories, stages and dates.

Nothing here can hold a name, an email address, a client reference or a sentence from a
case: every field is a count, a date, a case reference or one of the denormalised labels
(category, agency, stage). Building the digest from these types is the personal-data rule.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class ResolutionRow:
    """One closed case in the "Notification of an Escalation" columns, the client by the
    agencies' reference only."""

    ref: str
    raised: date
    closed: date
    stage: str
    stage_name: str
    raiser_agency: str | None
    other_agency: str | None
    category: str
    entries: int  # record entries of the case
    replies: int  # of which mail from the parties after the intake
    outcome: str  # resolved | withdrawn
    working_days: int
    timetable_days: int | None  # the policy's working days from raising to the end of that stage
    referred: date | None
    immediate_risk: bool = False
    professionals: tuple[str, ...] = ()  # "Name (Agency)", each person once
    issue: str = ""  # the decision disputed
    discussions: tuple[str, ...] = ()  # "date, who: what they wrote", in order
    outcome_text: str | None = None  # the agreed outcome as written

    @property
    def within_timetable(self) -> bool | None:
        return None if self.timetable_days is None else self.working_days <= self.timetable_days


@dataclass(frozen=True)
class OpenCase:
    ref: str
    stage: str
    stage_name: str
    category: str
    raiser_agency: str | None
    other_agency: str | None
    immediate_risk: bool
    policy_gap: bool
    debrief: bool
    raised: date
    days_open: int
    due_at: datetime  # local
    overdue_days: int | None  # working days past the deadline; None when not overdue
    overdue_hours: int | None  # hours past it, given when less than a working day

    @property
    def overdue(self) -> bool:
        return self.overdue_days is not None


@dataclass(frozen=True)
class CaseMark:
    """A case named in the immediate-risk or Board sections."""

    ref: str
    status: str
    stage: str
    raised: date
    closed: date | None
    policy_gap: bool
    debrief: bool
    referred: date | None


@dataclass(frozen=True)
class Count:
    label: str
    opened: int  # raised in the week
    closed: int  # resolved or withdrawn in the week
    open_now: int


@dataclass(frozen=True)
class StageOpen:
    stage: str
    stage_name: str
    open_now: int
    overdue: int


@dataclass(frozen=True)
class StageResolutions:
    stage: str
    stage_name: str
    resolved: int
    withdrawn: int
    timetable_days: int | None
    median_days: float | None  # over the resolved cases
    longest_days: int | None
    within_timetable: int


@dataclass(frozen=True)
class TrendWeek:
    week: str
    opened: int
    resolved: int
    withdrawn: int
    open_at_end: int


@dataclass(frozen=True)
class Digest:
    partnership: str
    policy: str
    week: str
    first_day: date
    last_day: date
    now: datetime  # local: "open cases as at"
    complete: bool  # the week has ended
    scheduled_for: datetime  # local
    late: bool
    opened: int
    resolved: int
    withdrawn: int
    immediate_risk_opened: int
    open_now: int
    overdue_now: int
    quarantined_outside: int
    open_cases: tuple[OpenCase, ...]
    open_unlisted: int
    open_unlisted_overdue: int
    open_by_stage: tuple[StageOpen, ...]
    resolutions_by_stage: tuple[StageResolutions, ...]
    records: tuple[ResolutionRow, ...]
    by_category: tuple[Count, ...]
    by_raising_agency: tuple[Count, ...]
    by_receiving_agency: tuple[Count, ...]
    immediate_risk: tuple[CaseMark, ...]
    immediate_risk_unlisted: int
    flagged: tuple[CaseMark, ...]
    flagged_unlisted: int
    policy_gaps: int
    debriefs: int
    referred_in_week: int
    trend: tuple[TrendWeek, ...]
    # Each open or recently closed case's record head ("ESC-2026-0042 #7 3f9a1c0e5b7d2a48"): kept
    # by business support, they let `escalations case REF --verify --against` catch a record rewritten later.
    heads: tuple[str, ...] = ()
