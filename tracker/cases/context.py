"""What every case change needs: the partnership's settings, the composer, and the time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailer.compose import Composer
from tracker.config.values import PartnershipConfig
from tracker.stages.rules import Rules


@dataclass(frozen=True)
class Context:
    partnership: PartnershipConfig
    composer: Composer
    now: datetime

    @property
    def rules(self) -> Rules:
        """What the stage machine reads of the partnership."""
        p = self.partnership
        return Rules(p.policy, p.calendar, p.directory, tuple(p.business_support), p.safeguarding_lead,
                     tuple(p.partner_domains), configured_addresses(p))


def configured_addresses(p: PartnershipConfig) -> frozenset[str]:
    """Everyone config.toml names: business support, the safeguarding lead, the directory."""
    named = {*p.business_support, p.safeguarding_lead, p.address}
    if p.directory is not None:
        named |= {c.email for agency in p.directory.agencies for people in agency.people.values() for c in people}
        named |= {c.email for people in (p.directory.board or {}).values() for c in people}
    return frozenset(e.lower() for e in named if e)
