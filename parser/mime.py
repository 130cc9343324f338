"""Bytes to a `Mail`: decoded bodies and attachments, with caps against hostile input.

Headers are read by parser/head.py (the sender is judged before any of this runs). Parsing
uses the stdlib's compat32 policy on purpose: the `email.policy.default` header registry
costs ~1 ms a message (measured), and we read no header through it. Nothing here raises on
bad input; defects just leave gaps.
"""
from __future__ import annotations

import codecs
import email
import email.header
import re
from dataclasses import dataclass, field
from email.message import Message

from .attachments import Attachment, attachment
from .caps import cap_raw
from .clean import clean_text

MAX_DEPTH = 20  # MIME nesting we follow
MAX_PARTS = 200  # leaf parts we look at
MAX_PART_BYTES = 3_000_000  # encoded size of one part we still decode
MAX_TEXT_CHARS = 400_000  # decoded text we keep per kind (plain / html)
MAX_DOCX_BYTES = 5_000_000

_BODY_TYPES = ("text/plain", "text/html")
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
                    "us-ascii": "ascii", "ansi_x3.4-1968": "ascii", "unknown-8bit": "cp1252"}


@dataclass
class Mail:
    """What the rest of the parser reads: never the raw message."""

    message: Message | None = None  # the parsed structure (a bounce report is read from it)
    plain: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    docx: bytes | None = None
    has_delivery_status: bool = False
    has_returned_message: bool = False  # a message/rfc822 part: what a bounce sends back
    full_text: str | None = None  # filled in lazily by the reader that needs it
    cut: bool = False  # parser/caps.py left content out: this is not the whole message


def read_mail(raw: bytes) -> Mail:
    """Parse `raw` once; never raises for any bytes."""
    if not isinstance(raw, (bytes, bytearray)):
        raw = str(raw).encode("utf-8", "surrogateescape")
    capped = cap_raw(bytes(raw))
    msg = email.message_from_bytes(capped.raw)
    mail = Mail(message=msg, cut=capped.cut)
    _walk(msg, mail)
    return mail


def safe(fn, default):
    """fn(), or `default` if the email package raises on defective input (it does, deep inside)."""
    try:
        return fn()
    except Exception:  # a defective header or part must not stop the parse
        return default


def _decode_header(value) -> str:
    try:
        parts = email.header.decode_header(value)
    except Exception:
        return str(value)
    try:
        return str(email.header.make_header(parts))
    except Exception:  # unknown charset in an encoded word: decode piecewise
        return "".join(c if isinstance(c, str) else decode_bytes(c, cs) for c, cs in parts)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset, falling back to UTF-8 then Windows-1252."""
    name = (charset or "ascii").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):
        name = "utf-8"
    if name in ("ascii", "utf-8"):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    try:
        return data.decode(name, "replace")
    except Exception:
        return data.decode("utf-8", "replace")


def _walk(msg: Message, mail: Mail) -> None:
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    plain: list[str] = []
    html: list[str] = []
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        ctype = safe(part.get_content_type, "text/plain")
        mail.has_delivery_status |= ctype == "message/delivery-status"
        mail.has_returned_message |= ctype == "message/rfc822"
        payload = safe(lambda: part.get_payload(), None)
        if isinstance(payload, list):
            if depth < MAX_DEPTH:
                stack.extend((p, depth + 1) for p in reversed(payload) if isinstance(p, Message))
            continue
        _leaf(part, ctype, mail, plain, html)
    mail.plain = _normalise("\n".join(plain))[:MAX_TEXT_CHARS]
    mail.html = clean_text("\n".join(html)[:MAX_TEXT_CHARS])


def _leaf(part: Message, ctype: str, mail: Mail, plain: list[str], html: list[str]) -> None:
    if ctype == "text/rfc822-headers":
        return  # a bounce's copy of the headers it is about: read by parser/bounce.py
    disposition = safe(part.get_content_disposition, None)
    filename = safe(part.get_filename, None)
    encoded = safe(lambda: part.get_payload(), "")
    size = len(encoded) if isinstance(encoded, str) else 0
    if disposition == "attachment" or filename or ctype not in _BODY_TYPES:
        # every part that is not body text is an attachment, named or not: an unnamed
        # application/zip is still an archive (judged by parser/attachments.py)
        _attachment(part, ctype, str(filename or ""), size, mail)
        return
    if size > MAX_PART_BYTES:
        return
    data = safe(lambda: part.get_payload(decode=True), b"") or b""
    text = decode_bytes(data, safe(part.get_content_charset, None))
    (plain if ctype == "text/plain" else html).append(text)


def _attachment(part: Message, ctype: str, filename: str, size: int, mail: Mail) -> None:
    name = _decode_header(filename)[:200] if filename else ""
    is_docx = name.lower().endswith(".docx") or ctype == DOCX_TYPE
    data = b""
    if is_docx and mail.docx is None and size <= MAX_DOCX_BYTES * 4 // 3 + 4096:
        data = safe(lambda: part.get_payload(decode=True), b"") or b""
        mail.docx = data[:MAX_DOCX_BYTES] or None
    if len(mail.attachments) < MAX_PARTS:
        mail.attachments.append(attachment(name, ctype, len(data) if data else _decoded_size(part, size)))


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    return clean_text(_INVISIBLE_RE.sub("", text))  # NUL and escape sequences stop here


def _decoded_size(part: Message, encoded: int) -> int:
    """The decoded size, estimated without decoding (base64 grows 4/3; other encodings ~1)."""
    cte = str(safe(lambda: part.get("content-transfer-encoding", ""), "") or "").strip().lower()
    return encoded * 3 // 4 if cte == "base64" else encoded
