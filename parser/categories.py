"""Loose matching of what a worker wrote onto DOMAIN.md's kinds of disagreement."""
from __future__ import annotations

import difflib
import re

from .model import CATEGORIES

# Checked in order: the more specific phrases first ("child protection plan" before "plan").
_RULES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p, re.IGNORECASE), c) for p, c in (
    (r"thres?h|level of need", CATEGORIES[0]),
    (r"several|multiple|more than one professional|one agency'?s? response", CATEGORIES[9]),
    (r"conference|(?:cp|child protection) plan|plan (?:was )?refused", CATEGORIES[7]),
    (r"\broles?\b|responsibilit", CATEGORIES[1]),
    (r"communicat|information|info[- ]shar", CATEGORIES[3]),
    (r"\bclos", CATEGORIES[4]),
    (r"agreed action|not completed|not (?:been )?done|not carried out", CATEGORIES[5]),
    (r"should (?:be|have been) involved|whether .{0,30}involved|agency involvement", CATEGORIES[6]),
    (r"need for action|not meeting|plan\b|no action", CATEGORIES[2]),
    (r"provision|services?\b", CATEGORIES[8]),
    (r"^\W*other\b", CATEGORIES[10]),
))


def match_category(value: str) -> str | None:
    """The canonical category for `value`, or None when nothing fits.

    >>> match_category("Threshold/level of need")
    'threshold / level of need'
    """
    text = " ".join(value.lower().split())[:300]
    if not text:
        return None
    for pattern, category in _RULES:
        if pattern.search(text):
            return category
    close = difflib.get_close_matches(text, CATEGORIES, n=1, cutoff=0.6)
    return close[0] if close else None
