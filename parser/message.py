"""parse_message: the one entry point, orchestrating mime -> classify -> reply / intake."""
from __future__ import annotations

import email.utils
import re

from . import classify as rules
from .docx_form import docx_text
from .form import Envelope as FormEnvelope
from .form import build_fields
from .html import cut_quoted_html, html_to_text
from .intake import count_required, read_labels
from .mime import Mail, header_all, header_text, message_ids, parse_date, read_mail
from .model import OWN_MARKER_HEADER, Issue, ParsedMessage
from .people import check_email
from .personal_data import warnings_for
from .reply import read_command

_ESCALATION_SUBJECT_RE = re.compile(r"\bescalat", re.IGNORECASE)
_FORWARD_SUBJECT_RE = re.compile(r"^\s*(?:(?:re|aw)\s*:\s*)*(?:fw|fwd)\s*:", re.IGNORECASE)
_FORWARD_BODY_RE = re.compile(
    r"^[\s>]*(?:-{2,}\s*(?:forwarded message|original message)|begin forwarded message)", re.IGNORECASE | re.MULTILINE
)
FORM_LABELS_FOR_INTAKE = 3  # required labels that make a message with no escalation subject an intake
FORM_LABELS_IN_THREAD = 5  # ... and a keyword-less message in a case thread a (re)submitted form
NO_KEYWORD = Issue("command", "We could not find a keyword on the first line of your reply. Start your reply "
                              "with one of: ACKNOWLEDGED, RESOLVED, ESCALATE, UPDATE, WITHDRAW, CONFERENCE REQUESTED.")


def parse_message(raw: bytes) -> ParsedMessage:
    """Read one email. Never raises: bytes it cannot make sense of give kind "invalid".

    >>> parse_message(b"From: a@b.example\\nSubject: [ESC-2026-0042] x\\n\\nResolved. Agreed.").command
    'resolved'
    """
    try:
        return _parse(raw)
    except Exception:  # includes RecursionError/MemoryError from hostile MIME: shunt, don't die
        return ParsedMessage("invalid", None, None, None, None,
                             errors=(Issue("message", "The message could not be read."),))


def _parse(raw: bytes) -> ParsedMessage:
    mail = read_mail(raw)
    envelope = _envelope(mail)
    env = rules.Envelope(envelope["sender"], envelope["subject"], envelope["in_reply_to"], envelope["references"])
    kind = rules.classify(mail, env)
    if kind in ("auto_reply", "bounce"):
        return ParsedMessage(kind, rules.case_ref(env), None, None, None, **envelope)
    if kind == "reply":
        return _reply(mail, env, envelope)
    return _intake_or_invalid(mail, env, envelope, None)


def _envelope(mail: Mail) -> dict:
    msg = mail.raw_headers
    name, address = email.utils.parseaddr(header_text(msg, "From"))
    _, reply_to = email.utils.parseaddr(header_text(msg, "Reply-To"))
    ids = message_ids(header_text(msg, "Message-ID"))
    return {
        "message_id": ids[0] if ids else None,
        "in_reply_to": message_ids(header_text(msg, "In-Reply-To")),
        "references": message_ids(header_text(msg, "References")),
        "sender": _address(address),
        "sender_name": name.strip() or None,
        "reply_to": _address(reply_to),
        "subject": header_text(msg, "Subject")[:1000],
        "date": parse_date(header_text(msg, "Date")),
        "own": OWN_MARKER_HEADER.lower() in mail.headers,
        "auth_results": tuple(header_all(msg, "Authentication-Results")),
        "attachments": tuple(mail.attachments),
    }


def _address(value: str) -> str | None:
    if not value or "@" not in value:
        return None
    return check_email(value)[0] or (value.strip().lower() if " " not in value.strip() else None)


def _reply(mail: Mail, env: rules.Envelope, envelope: dict) -> ParsedMessage:
    ref = rules.case_ref(env)
    text = mail.plain if mail.plain.strip() else html_to_text(cut_quoted_html(mail.html))
    command, statement = read_command(text)
    if command is None:
        labels = read_labels(_full_text(mail) if mail.html and not mail.plain.strip() else text)
        if count_required(labels) >= FORM_LABELS_IN_THREAD:
            return _intake(mail, env, envelope, labels, ref)
    errors = () if command else (NO_KEYWORD,)
    warnings = tuple(warnings_for("statement", statement))
    return ParsedMessage("reply", ref, command, statement, None, errors, warnings, **envelope)


def _full_text(mail: Mail) -> str:
    """Body text for reading a form (HTML converted once, then remembered)."""
    if mail.full_text is None:
        mail.full_text = mail.plain if mail.plain.strip() else html_to_text(mail.html)
    return mail.full_text


def _intake_or_invalid(mail: Mail, env: rules.Envelope, envelope: dict, ref: str | None) -> ParsedMessage:
    labels = read_labels(_full_text(mail))
    if mail.docx:
        for field, lines in read_labels(docx_text(mail.docx)).items():
            labels.setdefault(field, lines)
    if _ESCALATION_SUBJECT_RE.search(env.subject) or count_required(labels) >= FORM_LABELS_FOR_INTAKE:
        return _intake(mail, env, envelope, labels, ref)
    return ParsedMessage("invalid", None, None, None, None, **envelope)


def _intake(mail: Mail, env: rules.Envelope, envelope: dict, labels: dict, ref: str | None) -> ParsedMessage:
    forwarded = bool(_FORWARD_SUBJECT_RE.match(env.subject) or _FORWARD_BODY_RE.search(_full_text(mail)))
    form_env = FormEnvelope(sender=env.sender, forwarded=forwarded, sent=envelope["date"])
    fields, errors, warnings = build_fields(labels, form_env)
    return ParsedMessage("intake", ref, None, None, fields, tuple(errors), tuple(warnings), **envelope)
