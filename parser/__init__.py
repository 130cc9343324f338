"""parser: raw bytes of one email -> a frozen ParsedMessage. Knows nothing of cases.

The calls a service makes, in the order it makes them:
- `read_head(raw) -> Head`: the header block alone, cheap and bounded: the sender (or why
  none can be named), Authentication-Results, list and automatic-reply markers, size.
- `judge(head, TrustSettings(...)) -> Verdict`: did DMARC pass, aligned, by the word of the
  receiving server the deployment trusts?
- `parse_message(raw) -> ParsedMessage`: everything, never raising; in production through
  `parser.worker.ParseWorker`, which enforces a hard time budget from outside.
- `refused_attachment(attachment, endings) -> reason | None` for each of `.attachments`.

>>> parse_message(b"Subject: hello\\n\\nhi").kind
'invalid'
"""
from __future__ import annotations

from .attachments import REFUSED_CONTENT_TYPES, Attachment, refused_attachment
from .authres import TrustSettings, Verdict, judge
from .bounce import BounceReport, FailedRecipient
from .head import Head, read_head
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
    "read_head", "Head", "judge", "TrustSettings", "Verdict",
    "Attachment", "refused_attachment", "REFUSED_CONTENT_TYPES", "BounceReport", "FailedRecipient",
]
