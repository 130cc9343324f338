"""What the stage machine needs to know of a partnership: its policy, calendar and
directory, and who stands behind the cases (business support, the safeguarding lead)."""
from __future__ import annotations

from dataclasses import dataclass

from tracker.policy.calendar import WorkingCalendar
from tracker.policy.directory import Directory
from tracker.policy.model import Policy


@dataclass(frozen=True)
class Rules:
    policy: Policy
    calendar: WorkingCalendar
    directory: Directory | None
    business_support: tuple[str, ...]
    safeguarding_lead: str | None
