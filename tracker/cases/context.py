"""What every case change needs: the partnership's settings, the composer, and the time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailer.compose import Composer
from tracker.config.values import PartnershipConfig
from tracker.policy.rules import Rules


@dataclass(frozen=True)
class Context:
    partnership: PartnershipConfig
    composer: Composer
    now: datetime

    @property
    def rules(self) -> Rules:
        """What the stage machine reads of the partnership."""
        p = self.partnership
        return Rules(p.policy, p.calendar, p.directory, tuple(p.business_support), p.safeguarding_lead)
