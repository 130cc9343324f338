"""Delivery status notifications: which recipients failed, how badly, and which mail it was.

Three readers, most exact first:
1. RFC 3464 (multipart/report; message/delivery-status), read here with the email package:
   Final-Recipient, Action (failed / delayed), Status (5.x.x hard, 4.x.x soft) and the
   Diagnostic-Code. flufl.bounce reads this format too but gives addresses only.
2. flufl.bounce (GNU Mailman's detectors, maintained): the non-standard formats of Exim,
   qmail, Postfix, Yahoo, GroupWise, old Exchange and more, as permanent/temporary sets.
3. Our own line patterns for formats flufl does not know (DragonFly, KDDI/au, Verizon,
   Office 365's plain-text NDR).
The mail the report is about is found in a message/rfc822 or text/rfc822-headers part, else
in the copy of its headers most servers paste below their text; its Message-ID is what the
outbox fixed (`ESC-2026-0042.notice.<hex>@domain`), so the tracker can tie the two.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

from .clean import clean_line
from .head import Head, head_fields, message_ids
from .mime import safe
from .emails import check_email

# flufl.bounce logs a traceback for every detector that trips on odd input before raising
# (caught below): on attacker-written mail that would flood the service's log with noise.
_FLUFL_LOG = logging.getLogger("flufl.bounce")
_FLUFL_LOG.addHandler(logging.NullHandler())
_FLUFL_LOG.propagate = False

MAX_SCAN_CHARS = 100_000  # of the report's text: the verdict sits at its top
MAX_RECIPIENTS = 50
MAX_FLUFL_BYTES = 1_000_000  # a report is small, its copy of the mail need not be
MAX_FLUFL_CHARS = 30_000  # of text flufl is shown (see _flufl_view)
MAX_FLUFL_LINE = 1_000
# "@" is in neither half, so an address splits one way only: with it, "<" + "@" * 100_000 made
# every split worth trying before the closing ">" failed (96 s, found by the fuzz soak)
_ADDR = r"[^\s<>()\"',;:\[\]@]+@[^\s<>()\"',;:\[\]@]+"
# Never `\s*` at a line start with MULTILINE, nor `\s*X?\s*`: both are quadratic on runs of blank
# lines or spaces (4 s on 10,000 of them).
_TEXT_RULES = tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in (
    rf"error delivering your mail to <({_ADDR})>",  # DragonFly
    rf"could not be delivered to:\s*<({_ADDR})>",  # KDDI / au
    rf"^[ \t]*RCPT TO:[ \t]*<?({_ADDR})>?[ \t]*$",  # Verizon's "Message details"
    rf"your message to <?({_ADDR})>? couldn't be delivered",  # Office 365 text
    rf"delivery to the following recipients? failed[^\n]*\n(?:[ \t]*\n)?[ \t]*<?({_ADDR})>?",  # Gmail
))
_STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_DELAY_RE = re.compile(r"\b(?:delayed|will (?:retry|keep trying)|not yet been delivered|temporar)", re.IGNORECASE)
_MSGID_LINE_RE = re.compile(r"^message-id:\s*(<[^<>\s]{1,500}>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FailedRecipient:
    """One recipient a report is about. `severity`: "hard" (5.x.x, action failed), "soft"
    (4.x.x failure), "delay" (action delayed: still being tried)."""

    address: str
    severity: str
    status: str | None = None
    diagnostic: str | None = None


@dataclass(frozen=True, slots=True)
class BounceReport:
    """What a delivery report says.

    >>> BounceReport((FailedRecipient("sam@health.example.test", "hard", "5.1.1"),), "m@x").severity
    'hard'
    """

    recipients: tuple[FailedRecipient, ...]
    original_message_id: str | None
    reader: str = "dsn"  # dsn | flufl | text | none

    @property
    def severity(self) -> str:
        """hard if any recipient failed for good, else soft, else delay; "unknown" if none was read."""
        found = {r.severity for r in self.recipients}
        return next((s for s in ("hard", "soft", "delay") if s in found), "unknown")


def read_bounce(msg: Message, text: str, head: Head) -> BounceReport:
    """The report in `msg` (its MIME structure as parser/mime.py parsed it; `text` its plain
    text; `head` its header block: X-Failed-Recipients, and In-Reply-To, which Verizon and
    Exchange set to the failed mail). What cannot be read is left out."""
    text = text[:MAX_SCAN_CHARS]
    original = _original_id(msg, text) or (head.in_reply_to[0] if head.in_reply_to else None)
    x_failed = head.values("x-failed-recipients")
    dsn = _from_dsn(msg)
    if dsn:
        return BounceReport(dsn, original, "dsn")
    severity, status = _text_severity(text)
    listed = [a for v in x_failed for a in re.split(r"[,\s]+", v) if "@" in a]
    found = _addresses(listed, severity, status)
    if not found and head.size <= MAX_FLUFL_BYTES:
        found = _from_flufl(head, text, severity, status)
    found = found or _from_text(text, severity, status)
    reader = "none" if not found else ("x-failed-recipients" if listed else found[0][1])
    return BounceReport(tuple(r for r, _ in found)[:MAX_RECIPIENTS], original, reader)


def _from_dsn(msg: Message) -> tuple[FailedRecipient, ...]:
    out: list[FailedRecipient] = []
    for part in _parts(msg, "message/delivery-status"):
        blocks = safe(part.get_payload, None)
        for block in blocks[1:] if isinstance(blocks, list) else ():
            recipient = safe(lambda: _dsn_recipient(block), None)
            if recipient:
                out.append(recipient)
    return tuple(out[:MAX_RECIPIENTS])


def _dsn_recipient(block: Message) -> FailedRecipient | None:
    action = str(block.get("action", "")).strip().lower()
    if not action.startswith(("failed", "delayed", "error")):
        return None  # delivered, relayed, expanded: nothing went wrong
    raw = str(block.get("final-recipient") or block.get("original-recipient") or "")
    address = _address(raw.partition(";")[2] or raw)
    if not address:
        return None
    status = _status(str(block.get("status", "")))
    severity = "delay" if action.startswith("delayed") else ("soft" if status and status[0] == "4" else "hard")
    diagnostic = clean_line(str(block.get("diagnostic-code", "")))[:300] or None
    return FailedRecipient(address, severity, status, diagnostic)


def _from_flufl(head: Head, text: str, severity: str, status: str | None) -> list[tuple[FailedRecipient, str]]:
    try:
        temporary, permanent = all_failures(_flufl_view(head, text))
    except Exception:  # a detector tripping on odd input: the others still answer
        return []
    found = _addresses([a.decode("ascii", "replace") for a in sorted(permanent)], severity, status, "flufl")
    return found + _addresses([a.decode("ascii", "replace") for a in sorted(temporary)], "delay", status, "flufl")


def _flufl_view(head: Head, text: str) -> Message:
    """What flufl.bounce is shown: the report's headers over its text, as one text/plain part.
    Its detectors walk the whole MIME tree once per pattern and per line (11 s on a 140 KB
    report of many parts, found by tests/test_parser_fuzz.py); on one part of at most
    MAX_FLUFL_CHARS, lines cut to MAX_FLUFL_LINE, each pattern is one pass."""
    view = Message()
    for name, value in head.fields[:200]:
        if not name.startswith(("content-", "mime-")):
            view[name] = value[:MAX_FLUFL_LINE]
    lines = (line[:MAX_FLUFL_LINE] for line in text[:MAX_FLUFL_CHARS].split("\n"))
    view.set_payload("\n".join(lines))  # a str, as it is: with a charset it would be base64-encoded
    return view


def _from_text(text: str, severity: str, status: str | None) -> list[tuple[FailedRecipient, str]]:
    hits = [m.group(1) for rule in _TEXT_RULES for m in rule.finditer(text, 0)]
    return _addresses(hits, severity, status, "text")


def _addresses(raw: list[str], severity: str, status: str | None,
               reader: str = "x-failed-recipients") -> list[tuple[FailedRecipient, str]]:
    out, seen = [], set()
    for item in raw[:MAX_RECIPIENTS]:
        address = _address(item)
        if address and address not in seen:
            seen.add(address)
            out.append((FailedRecipient(address, severity, status), reader))
    return out


def _address(value: str) -> str | None:
    value = value.strip().strip("<>").strip()
    return check_email(value)[0] if "@" in value and len(value) <= 320 else None


def _status(value: str) -> str | None:
    m = _STATUS_RE.search(value[:100])
    return ".".join(m.groups()) if m else None


def _text_severity(text: str) -> tuple[str, str | None]:
    """For reports with no Status field: (severity, status). The first enhanced status code
    in the text decides, else words about retrying; a failure report is hard unless it says
    otherwise."""
    head = text[:20_000]
    m = _STATUS_RE.search(head)
    if m:
        return ("hard" if m.group(1) == "5" else "soft"), ".".join(m.groups())
    return ("delay" if _DELAY_RE.search(head) else "hard"), None


def _original_id(msg: Message, text: str) -> str | None:
    for part in _parts(msg, "message/rfc822"):
        inner = safe(part.get_payload, None)
        if isinstance(inner, list) and inner:
            ids = message_ids(safe(lambda: str(inner[0].get("message-id", "")), ""))
            if ids:
                return ids[0]
    for part in _parts(msg, "text/rfc822-headers"):
        data = safe(lambda: part.get_payload(decode=True), b"") or b""
        values = [v for n, v in head_fields(data[:200_000]) if n == "message-id"]
        if values and message_ids(values[0]):
            return message_ids(values[0])[0]
    m = _MSGID_LINE_RE.search(text)
    return message_ids(m.group(1))[0] if m else None


def _parts(msg: Message, ctype: str, limit: int = 200) -> list[Message]:
    found, stack, seen = [], [msg], 0
    while stack and seen < limit:
        part = stack.pop()
        seen += 1
        if safe(part.get_content_type, "") == ctype:
            found.append(part)
        payload = safe(part.get_payload, None)
        if isinstance(payload, list) and safe(part.get_content_maintype, "") == "multipart":
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return found
