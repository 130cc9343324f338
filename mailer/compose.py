"""Turn a template and its values into the bytes of one mail.

Each kind of mail is two Jinja2 templates in the templates folder: `<kind>.txt` (first
line `Subject: …`, a blank line, then the plain-text body) and `<kind>.html` (autoescaped).
A partnership overrides wording by pointing config at its own folder; any template it
lacks falls back to the shipped one.
"""
from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2

from parser import OWN_MARKER_HEADER

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_safe(value: str, limit: int = 200) -> str:
    """One line with no control characters: text from mail can never add a header."""
    return _CONTROL.sub(" ", value or "").strip()[:limit]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes


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
        there are attachments.

        Built with the compat32 MIME classes rather than EmailMessage: the modern policy
        parses every header it is given (when mail was still composed at ingest, that made
        composing 40% of a backlog's ingest time), while here every header value is ours or
        already made safe (header_safe)."""
        subject, text, html = self.render(kind, values)
        body = MIMEMultipart("alternative", _boundary(env, "alt"), [_text(text, "plain"), _text(html, "html")])
        msg = MIMEMultipart("mixed", _boundary(env, "mix"), [body, *map(_attachment, env.attachments)]) \
            if env.attachments else body
        for name, value in _headers(subject, env):
            msg[name] = value
        return msg.as_bytes(policy=_POLICY)


def _boundary(env: Envelope, part: str) -> str:
    """Made from the Message-ID, so a mail composed twice (a resend) is the same bytes. The
    bodies are quoted-printable or base64, where "==" cannot start a line: no clash."""
    return f"=={part}.{hashlib.sha256(env.message_id.encode()).hexdigest()[:32]}"


def _text(words: str, subtype: str) -> MIMENonMultipart:
    """A UTF-8 text part, quoted-printable: readable in any client's "view source", unlike
    base64. Encoded by binascii (C), which also encodes every non-ASCII byte, as QP must."""
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(words.encode("utf-8"), istext=True).decode("ascii"))
    return part


class _Policy(Compat32):
    """compat32, but a short ASCII header is written as it is: folding every header through
    email.header.Header was half the cost of composing a mail. Long or non-ASCII ones are
    still folded (and encoded) by compat32."""

    def fold_binary(self, name, value):
        if isinstance(value, str) and len(name) + len(value) < 76 and value.isascii() and "\n" not in value:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_POLICY = _Policy()


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
    return headers


def _attachment(a: Attachment) -> MIMEBase:
    maintype, subtype = a.content_type.split("/", 1)
    part = MIMEBase(maintype, subtype)
    part.set_payload(a.data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=header_safe(a.filename))
    return part
