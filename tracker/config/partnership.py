"""The partnership's own sections of config.toml: who it is ([partnership]), its policy,
calendar and directory, its servers, what it believes ([security]), how long it keeps closed
cases ([retention]) and when its weekly digest goes ([digest])."""
from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any, Mapping

from tracker.config.readers import (boolean, choice, email, emails, file_path, integer, number, only_known, table,
                                    text, texts)
from tracker.config.servers import INBOX_PORTS, OUTGOING_PORTS, server
from tracker.config.values import PartnershipConfig, SecurityConfig
from tracker.errors import ConfigError
from tracker.policy.calendar import calendar_from_config
from tracker.policy.directory import directory_from_config
from tracker.policy.build import policy_from_config

REFUSED_TYPES = (".exe", ".com", ".bat", ".cmd", ".scr", ".js", ".vbs", ".ps1", ".jar", ".msi", ".hta",
                 ".zip", ".7z", ".rar", ".gz", ".iso", ".docm", ".xlsm", ".html", ".htm")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def partnership(data: Mapping[str, Any], base: Path) -> PartnershipConfig:
    """Everything of one partnership in the file `data`, relative paths read from `base`."""
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
        inbox=server(table(data, "inbox"), "inbox", base, default_port=INBOX_PORTS),
        outgoing=server(table(data, "outgoing"), "outgoing", base, default_port=OUTGOING_PORTS),
        templates_dir=file_path(templates, "templates.dir", base, "templates"),
        directory=directory_from_config(data.get("directory", []), data.get("board", {})),
        security=_security(table(data, "security")),
        retention_days=_retention(table(data, "retention")),
        **_digest(table(data, "digest")),
    )


def _security(t: Mapping[str, Any]) -> SecurityConfig:
    only_known(t, "security.", {"trusted_authserv_ids", "require_authentication",
                                "max_replies_per_address_per_day", "max_new_cases_per_sender_per_day", "max_attachment_bytes",
                                "refused_attachment_types", "parse_budget_seconds"})
    require = boolean(t, "security.require_authentication", False)
    trusted = tuple(x.lower() for x in texts(t, "security.trusted_authserv_ids"))
    if require and not trusted:
        raise ConfigError("security.require_authentication",
                          "needs security.trusted_authserv_ids: the receiving server whose results to trust")
    types = t.get("refused_attachment_types")
    return SecurityConfig(
        trusted_authserv_ids=trusted, require_authentication=require,
        max_replies_per_address_per_day=integer(t, "security.max_replies_per_address_per_day", 20, 0, 10_000),
        max_new_cases_per_sender_per_day=integer(t, "security.max_new_cases_per_sender_per_day", 5, 1, 10_000_000),
        max_attachment_bytes=integer(t, "security.max_attachment_bytes", 10_000_000, 1_000, 100_000_000),
        refused_attachment_types=tuple(x.lower() for x in texts(t, "security.refused_attachment_types"))
        if types is not None else REFUSED_TYPES,
        parse_budget_seconds=number(t, "security.parse_budget_seconds", 1.5, 0.1, 60.0),
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
