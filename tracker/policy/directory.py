"""The agency directory: who acts for each agency at each stage, and the Board's people.

In config.toml, one `[[directory]]` table per agency (its name, its email domains, and a
person or list of people per policy role), and a `[board]` table for partnership-wide
roles (board manager, independent chair, ...). Managers named in an intake take precedence
over the directory; a role nobody fills is routed by business support.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from email_validator import EmailNotValidError, validate_email

from tracker.errors import ConfigError
from tracker.policy.model import ROLES

AGENCY_KEYS = {"agency", "domains"}


@dataclass(frozen=True)
class Contact:
    name: str | None
    title: str | None
    email: str


@dataclass(frozen=True)
class Agency:
    name: str
    domains: tuple[str, ...]
    people: Mapping[str, tuple[Contact, ...]]

    def serves(self, email: str) -> bool:
        domain = email.rpartition("@")[2].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.domains)


@dataclass(frozen=True)
class Directory:
    agencies: tuple[Agency, ...] = ()
    board: Mapping[str, tuple[Contact, ...]] = None

    def agency_of(self, email: str) -> Agency | None:
        return next((a for a in self.agencies if a.serves(email)), None)


def directory_from_config(agencies: Any, board: Any) -> Directory:
    if not isinstance(agencies, list):
        raise ConfigError("directory", "must be a list of [[directory]] tables, one per agency")
    built = tuple(_agency(a, f"directory[{i}]") for i, a in enumerate(agencies))
    if not isinstance(board, Mapping):
        raise ConfigError("board", "must be a table of role = person")
    return Directory(built, _people(board, "board"))


def _agency(t: Any, path: str) -> Agency:
    if not isinstance(t, Mapping):
        raise ConfigError(path, "must be a table with agency, domains and people by role")
    name = t.get("agency")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{path}.agency", "give the agency's name")
    domains = t.get("domains", [])
    if not isinstance(domains, list) or not domains or not all(isinstance(d, str) and "." in d for d in domains):
        raise ConfigError(f"{path}.domains", 'list the agency\'s email domains, e.g. ["council.example.test"]')
    people = _people({k: v for k, v in t.items() if k not in AGENCY_KEYS}, path)
    return Agency(name.strip(), tuple(d.lower() for d in domains), people)


def _people(t: Mapping, path: str) -> dict[str, tuple[Contact, ...]]:
    out = {}
    for role, value in t.items():
        if role not in ROLES:
            raise ConfigError(f"{path}.{role}", f"unknown role; roles are: {', '.join(ROLES)}")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}.{role}", 'give "Name, Title <email>" or a list of them')
        out[role] = tuple(_contact(v, f"{path}.{role}") for v in values)
    return out


def _contact(text: str, key: str) -> Contact:
    """'Name, Title <email>' -> Contact; the email is checked (syntax only)."""
    if "<" in text:
        head, _, rest = text.rpartition("<")
        raw_email = rest.split(">")[0].strip()
        name, _, title = head.strip().rstrip(",").partition(",")
    else:
        raw_email, name, title = text.strip(), "", ""
    try:
        email = validate_email(raw_email, check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as exc:
        raise ConfigError(key, f"{text!r}: {exc}") from None
    return Contact(name.strip() or None, title.strip() or None, email)
