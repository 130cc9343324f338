"""Reading "Label: value" lines (CONTRACT.md §1) out of body text.

A value runs on over the following lines until the next known label, a signature, a
disclaimer or a quoted-reply header. Labels may be bulleted, numbered, bold (*x*), alone
on their line, or in a table row (tab or wide gap before the value).
"""
from __future__ import annotations

import re

from .text import is_quote_head, is_signature

LABELS: dict[str, tuple[str, ...]] = {
    "case_reference": ("case reference", "client reference", "child reference"),
    "about": ("about", "child or adult"),
    "immediate_risk": ("immediate risk of significant harm", "immediate risk"),
    "category": ("category", "type of disagreement"),
    "raised_by": ("raised by",),
    "raiser_manager": ("my manager or safeguarding lead", "my manager"),
    "other_party": ("disagreement with", "other professional"),
    "other_manager": ("their manager",),
    "decision_disputed": ("decision or action disputed", "decision disputed", "issue / concern",
                          "issue/concern", "issue"),
    "decision_date": ("date of decision",),
    "reasons": ("reasons and evidence", "reasons"),
    "outcome_sought": ("outcome sought",),
    "discussions": ("discussions so far", "record of discussions"),
    "looked_after": ("looked after", "looked-after child", "child looked after"),
}
REQUIRED = ("case_reference", "immediate_risk", "category", "raised_by", "other_party",
            "decision_disputed", "decision_date", "reasons", "outcome_sought")

_ALIAS_TO_FIELD = {" ".join(a.replace("/", " / ").split()): f for f, aliases in LABELS.items() for a in aliases}
_ALTERNATION = "|".join(
    re.escape(a).replace(r"\ /\ ", r"\s*/\s*").replace(r"\ ", r"\s+")
    for a in sorted(_ALIAS_TO_FIELD, key=len, reverse=True)
)
LABEL_RE = re.compile(
    r"^(?:[-*•·▪◦‣–o]\s+|\d{1,2}[.)]\s*)?[*_]{0,3}(" + _ALTERNATION + r")\s*\??[*_]{0,3}"
    r"(?:\s*[:\-–—]|\t|\s{2,}|(?<=\?)\s|$)[*_]{0,3}\s*(.*)$",
    re.IGNORECASE,
)
_ENVELOPE_LINE_RE = re.compile(r"^[*_]{0,2}(?:from|sent|to|cc|subject|date)[*_]{0,2}:\s", re.IGNORECASE)
_QUOTE_MARKS_RE = re.compile(r"^(?:>\s?)+")


def read_labels(text: str) -> dict[str, list[str]]:
    """field -> the value's lines, for every known label found (first non-empty one wins).

    >>> read_labels("Category: threshold\\nReasons: a\\nb\\n-- \\nSam")["reasons"]
    ['a', 'b']
    """
    lines = [_QUOTE_MARKS_RE.sub("", line.strip()).strip() for line in text.split("\n")]
    values: dict[str, list[str]] = {}
    current: list[str] | None = None
    for i, line in enumerate(lines):
        match = LABEL_RE.match(line)
        if match:
            current = _start_value(values, _field_of(match.group(1)), match.group(2).strip())
        elif current is not None and line and _ends_value(lines, i):
            current = None
        elif current is not None:
            current.append(line)
    return {f: v for f, v in values.items() if any(v)}


def _field_of(label: str) -> str:
    return _ALIAS_TO_FIELD[" ".join(label.lower().replace("/", " / ").split())]


def _start_value(values: dict[str, list[str]], field: str, first: str) -> list[str]:
    if any(values.get(field, ())):
        return []  # a repeat of a label already read (e.g. deeper in a forward): ignored
    values[field] = [first]
    return values[field]


def _ends_value(lines: list[str], i: int) -> bool:
    line = lines[i]
    return is_signature(line) or is_quote_head(lines, i) or bool(_ENVELOPE_LINE_RE.match(line))


def count_required(values: dict[str, list[str]]) -> int:
    return sum(1 for f in REQUIRED if f in values)
