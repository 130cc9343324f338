"""What the stage machine needs to know of a partnership: its policy, calendar and
directory, who stands behind the cases (business support, the safeguarding lead), and
where case content may go (the partner agencies' domains)."""
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
    partner_domains: tuple[str, ...] = ()  # none: the partnership has not fenced its mail in
    configured: frozenset[str] = frozenset()  # addresses config.toml names (business support, directory)

    def reaches(self, email: str) -> bool:
        """May mail about a case go to `email`? Only inside the partner agencies' domains, or
        to someone the partnership's own configuration names."""
        return not self.partner_domains or email in self.configured or within(self.partner_domains, email)


def within(domains: tuple[str, ...], email: str | None) -> bool:
    """Is `email` at one of `domains` or a subdomain of one?

    >>> within(("council.example.test",), "a@social.council.example.test"), within(("x.test",), "a@evilx.test")
    (True, False)
    """
    domain = (email or "").rpartition("@")[2].lower()
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)
