"""UK day-first dates: 2026-11-20, 20/11/2026, 20 Nov 2026, Friday 20th November 2026."""
from __future__ import annotations

import datetime
import re

_MONTHS = {m: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for m in names}
_ISO_RE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_NUMERIC_RE = re.compile(r"\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})\b")
_WORDS_RE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+([a-z]{3,9})\.?,?\s+(\d{4})\b", re.IGNORECASE)
_MONTH_FIRST_RE = re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE)


def parse_uk_date(value: str) -> datetime.date | None:
    """The first date written in `value`, read day-first; None if none or impossible.

    >>> parse_uk_date("Friday 20th November 2026")
    datetime.date(2026, 11, 20)
    """
    value = value[:200]
    for finder in (_iso, _numeric, _words, _month_first):
        found = finder(value)
        if found is not False:
            return found
    return None


def _make(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def _iso(value: str):
    m = _ISO_RE.search(value)
    return _make(int(m[1]), int(m[2]), int(m[3])) if m else False


def _numeric(value: str):
    m = _NUMERIC_RE.search(value)
    if not m:
        return False
    year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
    return _make(year, int(m[2]), int(m[1]))


def _words(value: str):
    m = _WORDS_RE.search(value)
    if not m or m[2].lower() not in _MONTHS:
        return False
    return _make(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))


def _month_first(value: str):
    m = _MONTH_FIRST_RE.search(value)
    if not m or m[1].lower() not in _MONTHS:
        return False
    return _make(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
