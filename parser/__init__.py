"""parser: raw bytes of one email -> a frozen ParsedMessage. Knows nothing of cases.

>>> parse_message(b"Subject: hello\\n\\nhi").kind
'invalid'
"""
from __future__ import annotations

from .message import parse_message
from .model import (
    CASE_REF_RE,
    CATEGORIES,
    OWN_MARKER_HEADER,
    IntakeFields,
    Issue,
    ParsedMessage,
    Person,
)

__all__ = [
    "parse_message", "ParsedMessage", "IntakeFields", "Person", "Issue",
    "CATEGORIES", "OWN_MARKER_HEADER", "CASE_REF_RE",
]
