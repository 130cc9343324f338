"""`Name, Role, Agency <email>` -> Person; the email checked by email-validator (syntax only)."""
from __future__ import annotations

import re

from .emails import check_email
from .model import Person

MAX_PERSON_CHARS = 1_000  # "Name, Role, Agency <email>" is a line, not an essay
_ANGLE_RE = re.compile(r"<\s*(?:mailto:)?([^<>\s]*@[^<>\s]*)\s*>", re.IGNORECASE)
# An address is a whole token: the look-behind lets a match start only where a token does, so
# a long value with no "@" is scanned once (starting at every character made it quadratic:
# 1.2 s at 10,000 characters). "mailto" is a token of its own (":" ends a token).
_TOKEN_END = "\\s<>(),;:\\[\\]\"'"
_BARE_RE = re.compile(rf"(?<![^{_TOKEN_END}])[^{_TOKEN_END}]+@[^{_TOKEN_END}]+")
_MAILTO_RE = re.compile(r"\bmailto:", re.IGNORECASE)
_TRIM = " \t,;:-–—|*_()[]\"'"


def parse_person(value: str) -> tuple[Person, str | None]:
    """(person, problem). `problem` is None when the value has a valid email.

    >>> parse_person("Sam Carter, Team Manager, Health Visiting <Sam@Health.example.test>")[0].email
    'sam@health.example.test'
    """
    value = value[:MAX_PERSON_CHARS]
    emails = _ANGLE_RE.findall(value) or _BARE_RE.findall(value)
    rest = _MAILTO_RE.sub(" ", _BARE_RE.sub(" ", _ANGLE_RE.sub(" ", value)))
    name, role, agency = _split_parts(rest)
    if not emails:
        return Person(name, role, agency, None), "no email address"
    address = emails[0].strip(".")
    email, problem = check_email(address)
    return Person(name, role, agency, email), problem


def _split_parts(rest: str) -> tuple[str | None, str | None, str | None]:
    parts = [p.strip(_TRIM) for p in re.split(r"[,;|\n]| - ", rest)]
    parts = [" ".join(p.split()) for p in parts if p.strip(_TRIM)]
    if not parts:
        return None, None, None
    if len(parts) == 1:
        return parts[0], None, None
    if len(parts) == 2:
        return parts[0], parts[1], None
    return parts[0], ", ".join(parts[1:-1]), parts[-1]
