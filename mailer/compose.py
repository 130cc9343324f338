"""Turn a template and its values into the bytes of one mail.

Each kind of mail is two Jinja2 templates in the templates folder: `<kind>.txt` (first
line `Subject: …`, a blank line, then the plain-text body) and `<kind>.html` (autoescaped).
A partnership overrides wording by pointing config at its own folder; any template it
lacks falls back to the shipped one.
"""
from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2

from parser import OWN_MARKER_HEADER
from parser.anchor import RECORD_HEADER

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_safe(value: str, limit: int = 200) -> str:
    """One line with no control characters: text from mail can never add a header."""
    return _CONTROL.sub(" ", value or "").strip()[:limit]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes
    # Set for a picture the HTML shows (<img src="cid:...">): sent inline, beside the text
    # in a multipart/related, rather than as a file to open.
    content_id: str | None = None


@dataclass(frozen=True)
class Envelope:
    """Everything about a mail except its words."""

    sender: str
    sender_name: str
    to: str
    message_id: str  # without <>
    date: datetime  # aware, shown in the partnership's zone
    marker: str  # value of the marker header: the partnership id
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    auto: str = "auto-generated"  # or "auto-replied" for answers to a person's mail
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    record: str | None = None  # the head of the record the mail is about, as it was when queued


class Composer:
    def __init__(self, template_dirs: Sequence[Path]):
        loader = jinja2.FileSystemLoader([str(d) for d in template_dirs])
        self._text = jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
                                        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self._html = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                                        trim_blocks=True, lstrip_blocks=True)

    def render(self, kind: str, values: Mapping[str, Any]) -> tuple[str, str, str]:
        """(subject, text, html) for `kind`."""
        text = self._text.get_template(f"{kind}.txt").render(values)
        first, _, body = text.partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"template {kind}.txt must start with a 'Subject:' line")
        html = self._html.get_template(f"{kind}.html").render(values)
        return header_safe(first[len("Subject:"):], 250), body.lstrip("\n"), html

    def problems(self) -> list[str]:
        """Templates that would not compile, each as "file, line N: what" (for `escalations
        check`: mail is composed when it is sent, so a mistake would otherwise show first as
        mail that cannot be sent)."""
        out = []
        for name in self._text.loader.list_templates():
            env = self._html if name.endswith(".html") else self._text
            try:
                env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                out.append(f"{exc.filename or name}, line {exc.lineno}: {exc.message}")
        return out

    def compose(self, kind: str, values: Mapping[str, Any], env: Envelope) -> bytes:
        """The mail's bytes: multipart/alternative (text, HTML), inside multipart/mixed when
        there are attachments; pictures the HTML shows (attachments with a content_id) go
        with it in a multipart/related (RFC 2387), which Outlook shows in place.

        Written here rather than by the email package's MIME classes and generator, which
        took 60% of composing a mail (a backlog's sender is CPU-bound on a small machine).
        The bytes are those the compat32 generator writes for the same parts, headers
        folded by the same policy (tests/test_outbox.py holds the two side by side); every
        header value is ours or already made safe (header_safe)."""
        subject, text, html = self.render(kind, values)
        headers = _headers(subject, env)
        words = [_text(text, "plain"), _text(html, "html")]
        inline = [a for a in env.attachments if a.content_id]
        files = [a for a in env.attachments if not a.content_id]
        body = _multipart("alternative", _boundary(env, "alt"), words, [] if files or inline else headers)
        if inline:
            body = _multipart("related", _boundary(env, "rel"), [body, *map(_attachment, inline)],
                              [] if files else headers)
        if not files:
            return body
        return _multipart("mixed", _boundary(env, "mix"), [body, *map(_attachment, files)], headers)


def _boundary(env: Envelope, part: str) -> str:
    """Made from the Message-ID, so a mail composed twice (a resend) is the same bytes. The
    bodies are quoted-printable or base64, where "==" cannot start a line: no clash."""
    return f"=={part}.{hashlib.sha256(env.message_id.encode()).hexdigest()[:32]}"


_NEWLINES = re.compile(r"\r\n|\r|\n")


def _text(words: str, subtype: str) -> bytes:
    """A UTF-8 text part, quoted-printable: readable in any client's "view source", unlike
    base64. Encoded by binascii (C), which also encodes every non-ASCII byte, as QP must."""
    qp = binascii.b2a_qp(words.encode("utf-8"), istext=True)
    return _part([("Content-Type", f'text/{subtype}; charset="utf-8"'), ("MIME-Version", "1.0"),
                  ("Content-Transfer-Encoding", "quoted-printable")], _NEWLINES.sub("\n", qp.decode("ascii")).encode())


def _multipart(subtype: str, boundary: str, parts: list[bytes], headers: list = ()) -> bytes:
    """A multipart entity: its content headers, then `headers`, then the parts."""
    sep = f"\n--{boundary}\n".encode()
    return _part([("Content-Type", f'multipart/{subtype}; boundary="{boundary}"'), ("MIME-Version", "1.0"), *headers],
                 sep[1:] + sep.join(parts) + f"\n--{boundary}--\n".encode())


def _part(headers: list[tuple[str, str | Header]], body: bytes) -> bytes:
    return _headers_bytes(headers) + b"\n" + body


def _headers_bytes(headers: list[tuple[str, str | Header]]) -> bytes:
    return b"".join(_fold(name, value) for name, value in headers)


_LIMIT = 78  # RFC 5322's "SHOULD" for a line; 998 is the "MUST"
_COMPAT32 = Compat32()


def _fold(name: str, value: str | Header) -> bytes:
    """One header as bytes. An ASCII value is folded before its spaces (never leaving a line
    of only spaces), as few times as keep lines within 78 characters (a word longer than
    that stays whole). Other values, and RFC 2047 encoded words (a non-ASCII display name
    becomes one, which must be split into words of at most 75 characters), are encoded
    and folded by the email package (compat32), which took half the time of composing a
    mail when it did this for every header."""
    if not isinstance(value, str) or not value.isascii() or "\n" in value or "\r" in value or "=?" in value:
        return _COMPAT32.fold_binary(name, value)
    lines, line = [], f"{name}:"
    for word in value.split(" "):
        if len(line) + 1 + len(word) > _LIMIT and word and line.strip(" ") != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + word
    return "\n".join(lines + [line]).encode("ascii") + b"\n"


def _headers(subject: str, env: Envelope) -> list[tuple[str, str | Header]]:
    headers: list[tuple[str, str | Header]] = [
        ("From", formataddr((header_safe(env.sender_name), env.sender), charset="utf-8")),
        ("To", env.to),
        ("Reply-To", env.sender),
        ("Subject", subject if subject.isascii() else Header(subject, "utf-8")),
        ("Date", format_datetime(env.date)),
        ("Message-ID", f"<{env.message_id}>"),
    ]
    if env.in_reply_to:
        headers.append(("In-Reply-To", f"<{env.in_reply_to}>"))
    if env.references:
        headers.append(("References", " ".join(f"<{r}>" for r in env.references)))
    headers += [("Auto-Submitted", env.auto), ("X-Auto-Response-Suppress", "All"),
                (OWN_MARKER_HEADER, header_safe(env.marker))]
    if env.record:
        headers.append((RECORD_HEADER, header_safe(env.record)))
    return headers


def _attachment(a: Attachment) -> bytes:
    """Base64 in lines of 76, named as the email package names it (RFC 2231 if not ASCII)."""
    name = header_safe(a.filename)
    param = f'filename="{email.utils.quote(name)}"' if name.isascii() else \
        f"filename*={email.utils.encode_rfc2231(name, 'utf-8', '')}"
    headers = [("Content-Type", a.content_type), ("MIME-Version", "1.0"), ("Content-Transfer-Encoding", "base64"),
               ("Content-Disposition", f"{'inline' if a.content_id else 'attachment'}; {param}")]
    if a.content_id:
        headers.append(("Content-ID", f"<{header_safe(a.content_id)}>"))
    return _part(headers, base64.encodebytes(a.data))
