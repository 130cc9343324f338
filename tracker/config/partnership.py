"""The partnership's own sections of config.toml: who it is ([partnership]), its policy,
calendar and directory, its servers, what it believes ([security]), how long it keeps closed
cases ([retention]) and when its weekly digest goes ([digest])."""
from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any, Mapping

from tracker.config.readers import (choice, email, emails, file_path, integer, only_known, table, text,
                                    texts)
from tracker.config.servers import INBOX_PORTS, OUTGOING_PORTS, server
from tracker.config.security import security
from tracker.config.values import PartnershipConfig
from tracker.errors import ConfigError
from tracker.policy.calendar import calendar_from_config
from tracker.policy.directory import directory_from_config
from tracker.policy.build import policy_from_config

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def partnership(data: Mapping[str, Any], base: Path, state: Path | None = None) -> PartnershipConfig:
    """Everything of one partnership in the file `data`, relative paths read from `base`
    (local Maildirs, which are state, from `state`)."""
    p = table(data, "partnership")
    only_known(p, "partnership.", {"id", "name", "address", "display_name", "business_support",
                                   "partner_domains", "safeguarding_lead"})
    pid = text(p, "partnership.id", "example")
    if not pid.replace("-", "").isalnum():
        raise ConfigError("partnership.id", f"use letters, digits and hyphens only; got {pid!r}")
    templates = table(data, "templates")
    return PartnershipConfig(
        id=pid,
        name=text(p, "partnership.name", "Safeguarding Partnership"),
        address=email(p, "partnership.address", "escalations@partnership.example.test"),
        display_name=text(p, "partnership.display_name", "Safeguarding Partnership escalations"),
        business_support=tuple(emails(p, "partnership.business_support")),
        partner_domains=tuple(d.lower() for d in texts(p, "partnership.partner_domains")),
        safeguarding_lead=email(p, "partnership.safeguarding_lead", None),
        policy=policy_from_config(table(data, "policy") or {"preset": "wolverhampton"}),
        calendar=calendar_from_config(table(data, "calendar")),
        inbox=server(table(data, "inbox"), "inbox", base, default_port=INBOX_PORTS, state=state),
        outgoing=server(table(data, "outgoing"), "outgoing", base, default_port=OUTGOING_PORTS, state=state),
        templates_dir=file_path(templates, "templates.dir", base, "templates"),
        directory=directory_from_config(data.get("directory", []), data.get("board", {})),
        security=security(table(data, "security")),
        retention_days=_retention(table(data, "retention")),
        **_digest(table(data, "digest")),
    )


def _retention(t: Mapping[str, Any]) -> int:
    only_known(t, "retention.", {"closed_case_days"})
    return integer(t, "retention.closed_case_days", 730, 0, 36_500)


def _digest(t: Mapping[str, Any]) -> dict:
    only_known(t, "digest.", {"day", "time"})
    day = choice(t, "digest.day", "monday", DAYS)
    at = text(t, "digest.time", "09:00")
    try:
        hh, mm = (int(x) for x in at.split(":"))
        when = time(hh, mm)
    except ValueError:
        raise ConfigError("digest.time", f'must be a time of day like "09:00"; got {at!r}') from None
    return {"digest_day": DAYS.index(day), "digest_time": when}
