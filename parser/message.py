"""parse_message: the one entry point, orchestrating head -> mime -> classify -> reply / intake / bounce."""
from __future__ import annotations

import dataclasses
import re

from . import classify as rules
from .bounce import read_bounce
from .clean import clean_text
from .docx_form import docx_text
from .form import FormSource, build_fields
from .head import Head, read_head
from .html import cut_quoted_html, html_to_text
from .intake import count_required, read_labels
from .mime import Mail, read_mail
from .model import CUT, Issue, ParsedMessage
from .personal_data import warnings_for
from .reply import read_command

_ESCALATION_SUBJECT_RE = re.compile(r"\bescalat", re.IGNORECASE)
_FORWARD_SUBJECT_RE = re.compile(r"^\s*(?:(?:re|aw)\s*:\s*)*(?:fw|fwd)\s*:", re.IGNORECASE)
_FORWARD_BODY_RE = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|original message)|begin forwarded message)", re.IGNORECASE | re.MULTILINE
)
FORM_LABELS_FOR_INTAKE = 3  # required labels that make a message with no escalation subject an intake
FORM_LABELS_IN_THREAD = 5  # ... and a keyword-less message in a case thread a (re)submitted form
NO_KEYWORD = Issue("command", "We could not find a keyword on the first line of your reply. Start your reply "
                              "with one of: ACKNOWLEDGED, RESOLVED, ESCALATE, UPDATE, WITHDRAW, CONFERENCE REQUESTED.")
UNREADABLE = Issue("message", "The message could not be read.")


def parse_message(raw: bytes) -> ParsedMessage:
    """Read one email. Never raises: bytes it cannot make sense of give kind "invalid".

    >>> parse_message(b"From: a@b.example\\nSubject: [ESC-2026-0042] x\\n\\nResolved. Agreed.").command
    'resolved'
    """
    try:
        return _parse(raw)
    except Exception:  # includes RecursionError/MemoryError from hostile MIME: shunt, don't die
        return ParsedMessage("invalid", None, None, None, None, errors=(UNREADABLE,))


def _parse(raw: bytes) -> ParsedMessage:
    head = read_head(raw)
    mail = read_mail(raw)
    parsed = _read(head, mail)
    if mail.cut:  # what was read is only the start: said so, whatever kind it looks like
        return dataclasses.replace(parsed, errors=(CUT, *parsed.errors), cut=True)
    return parsed


def _read(head: Head, mail: Mail) -> ParsedMessage:
    envelope = _envelope(head, mail)
    kind = rules.classify(head, mail)
    if kind == "bounce":
        report = read_bounce(mail.message, mail.plain, head)
        ref = rules.case_ref(head) or _ref_of(report.original_message_id)
        return ParsedMessage(kind, ref, None, None, None, bounce=report, **envelope)
    if kind == "auto_reply":
        return ParsedMessage(kind, rules.case_ref(head), None, None, None, **envelope)
    if kind == "reply":
        return _reply(mail, head, envelope)
    return _intake_or_invalid(mail, head, envelope, None)


def _envelope(head: Head, mail: Mail) -> dict:
    """The ParsedMessage values every kind carries, from the header block."""
    return {
        "message_id": head.message_id, "in_reply_to": head.in_reply_to, "references": head.references,
        "sender": head.sender, "sender_name": head.sender_name, "reply_to": head.reply_to,
        "subject": head.subject, "date": head.date, "own": head.own_marker, "auth_results": head.auth_results,
        "attachments": tuple(mail.attachments), "sender_problems": head.sender_problems,
        "via_list": head.via_list, "head": head,
    }


def _ref_of(message_id: str | None) -> str | None:
    match = rules.CASE_REF_RE.search(message_id or "")
    return match.group() if match else None


def _reply(mail: Mail, head: Head, envelope: dict) -> ParsedMessage:
    ref = rules.case_ref(head)
    text = mail.plain if mail.plain.strip() else html_to_text(cut_quoted_html(mail.html))
    command, statement = read_command(text)
    if command is None:
        labels = read_labels(_full_text(mail) if mail.html and not mail.plain.strip() else text)
        if count_required(labels) >= FORM_LABELS_IN_THREAD:
            return _intake(mail, head, envelope, labels, ref)
    errors = () if command else (NO_KEYWORD,)
    statement = clean_text(statement) if statement else statement
    warnings = tuple(warnings_for("statement", statement))
    return ParsedMessage("reply", ref, command, statement, None, errors, warnings, **envelope)


def _full_text(mail: Mail) -> str:
    """Body text for reading a form (HTML converted once, then remembered)."""
    if mail.full_text is None:
        mail.full_text = mail.plain if mail.plain.strip() else clean_text(html_to_text(mail.html))
    return mail.full_text


def _intake_or_invalid(mail: Mail, head: Head, envelope: dict, ref: str | None) -> ParsedMessage:
    labels = read_labels(_full_text(mail))
    if mail.docx:
        for field, lines in read_labels(clean_text(docx_text(mail.docx))).items():
            labels.setdefault(field, lines)
    if _ESCALATION_SUBJECT_RE.search(head.subject) or count_required(labels) >= FORM_LABELS_FOR_INTAKE:
        return _intake(mail, head, envelope, labels, ref)
    return ParsedMessage("invalid", None, None, None, None, **envelope)


def _intake(mail: Mail, head: Head, envelope: dict, labels: dict, ref: str | None) -> ParsedMessage:
    forwarded = bool(_FORWARD_SUBJECT_RE.match(head.subject) or _FORWARD_BODY_RE.search(_full_text(mail)))
    source = FormSource(sender=head.sender, forwarded=forwarded, sent=head.date)
    fields, errors, warnings = build_fields(labels, source)
    return ParsedMessage("intake", ref, None, None, fields, tuple(errors), tuple(warnings), **envelope)
