"""Who a signed-in person is to the desk: their roles, worked out from the settings on every
request (a change to config.toml applies at the next page, not the next sign-in).

    viewer = viewer_for("nat.named@health.example.test", groups=(), settings=desk, is_party=False)
    viewer.roles   # -> frozenset({"agency_lead"})

Roles: *business support* and the *Board* see every case of the partnership; business support
also sees the mail that needs a look, and both see the reports. An *agency lead* sees the cases
with a party at one of their agency's domains; a *party* the cases they are on. Which cases
those are is a query (tracker.desk.data.visible); this module holds no database.
"""
from __future__ import annotations

from dataclasses import dataclass

from tracker.desk.signin.settings import DeskSettings

ROLE_NAMES = {"business_support": "business support", "board": "Board", "agency_lead": "agency lead",
              "party": "party to cases"}


@dataclass(frozen=True)
class Viewer:
    email: str
    roles: frozenset[str]
    lead_domains: tuple[str, ...] = ()
    lead_agencies: tuple[str, ...] = ()

    @property
    def sees_all(self) -> bool:
        return bool(self.roles & {"business_support", "board"})

    @property
    def sees_reports(self) -> bool:
        return self.sees_all

    @property
    def sees_mail_problems(self) -> bool:
        """Quarantined and bounced mail, routing requests: business support's work."""
        return "business_support" in self.roles

    @property
    def describe(self) -> str:
        names = [ROLE_NAMES[r] for r in ("business_support", "board", "agency_lead", "party") if r in self.roles]
        if self.lead_agencies:
            names = [n + f" ({', '.join(self.lead_agencies)})" if n == "agency lead" else n for n in names]
        return ", ".join(names)


def _listed(entries: tuple[str, ...], email: str, groups: tuple[str, ...]) -> bool:
    return email in entries or any(f"group:{g}" in entries for g in groups)


def configured_roles(settings: DeskSettings, email: str, groups: tuple[str, ...] = ()) -> Viewer:
    """The roles config.toml gives `email` (and its identity-provider groups); party is not
    among them: that one comes from the cases."""
    email = email.strip().lower()
    roles = set()
    if _listed(settings.business_support, email, groups):
        roles.add("business_support")
    if _listed(settings.board, email, groups):
        roles.add("board")
    leads = [lead for lead in settings.agency_leads if _listed(lead.people, email, groups)]
    if leads:
        roles.add("agency_lead")
    return Viewer(email, frozenset(roles), tuple(d for lead in leads for d in lead.domains),
                  tuple(lead.agency for lead in leads))


def viewer_for(settings: DeskSettings, email: str, groups: tuple[str, ...], is_party: bool) -> Viewer | None:
    """The viewer, or None when the address has no business on the desk."""
    v = configured_roles(settings, email, groups)
    roles = v.roles | ({"party"} if is_party else set())
    if not roles:
        return None
    return Viewer(v.email, frozenset(roles), v.lead_domains, v.lead_agencies)
