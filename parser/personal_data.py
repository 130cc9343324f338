"""Warnings for personal data that must not travel through the secure inbox.

A warning never blocks a case; it asks the sender to anonymise. Heuristics are tuned to
stay quiet on ordinary text: NHS numbers must pass the mod-11 check digit, and the
published front-door numbers (MASH, IFD, 999) are not "private" phone numbers.
"""
from __future__ import annotations

import re

from .model import Issue

PUBLISHED_NUMBERS = frozenset({"01902555392", "01902551199", "01403229900", "999", "111", "101"})

_DOB_RE = re.compile(
    r"\b(?:d\.?\s?o\.?\s?b\.?|date of birth|born(?: on)?)\s*(?:[:\-]\s*)?"  # never \s*X?\s*: quadratic
    r"(?:\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\s+[a-z]{3,9}\.?\s+\d{4})",
    re.IGNORECASE,
)
_TEN_DIGITS_RE = re.compile(r"(?<![\d-])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d-])")
_POSTCODE_RE = re.compile(r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b")
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+44\s?\(?0?\)?\s?|0)\d(?:[\s-]?\d){8,9}(?![\d])")
_CHILD_NAME_RE = re.compile(
    r"\b(?i:(?:child|young person|adult|client|service user|baby|mother|father)(?:'s|’s)?\s+(?:full\s+)?name"
    r"(?:\s+is)?)\s*(?:[:\-–]\s*)?[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+)+",
)
_NAME_ONLY_RE = re.compile(r"^[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){1,3}$")

WHAT = {
    "dob": "a date of birth",
    "nhs": "an NHS number",
    "postcode": "a postcode",
    "phone": "a private phone number",
    "name": "a full name",
}


def nhs_checksum_ok(digits: str) -> bool:
    """The NHS number mod-11 check.

    >>> nhs_checksum_ok("9990000018"), nhs_checksum_ok("9990000017")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def find_personal_data(text: str) -> list[str]:
    """Keys of WHAT found in `text`, each once, in a stable order."""
    text = text[:50_000]
    found = []
    if _DOB_RE.search(text):
        found.append("dob")
    if any(nhs_checksum_ok("".join(m.groups())) for m in _TEN_DIGITS_RE.finditer(text)):
        found.append("nhs")
    if _POSTCODE_RE.search(text):
        found.append("postcode")
    if any(_private_phone(m.group()) for m in _PHONE_RE.finditer(text)):
        found.append("phone")
    if _CHILD_NAME_RE.search(text):
        found.append("name")
    return found


def _private_phone(number: str) -> bool:
    digits = re.sub(r"\D", "", number)
    if digits.startswith("44"):
        digits = "0" + digits[2:].lstrip("0")
    return digits not in PUBLISHED_NUMBERS


def warnings_for(field: str, text: str | None) -> list[Issue]:
    if not text:
        return []
    return [Issue(field, f"possible personal data: {WHAT[key]}. Please remove it or anonymise it, "
                         "as this inbox must not carry details that identify a person.")
            for key in find_personal_data(text)]


def name_as_reference(field: str, value: str | None) -> list[Issue]:
    """A case reference that reads like a person's name."""
    if value and _NAME_ONLY_RE.match(value.strip()):
        return [Issue(field, f"possible personal data: {WHAT['name']}. The case reference should be the "
                             "agencies' anonymised reference, never the child's or adult's name.")]
    return []
