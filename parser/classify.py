"""Classify, then act: small rules in one ordered tuple, read top to bottom like the policy.

Each rule answers `check(mail, envelope) -> bool`; the first that says yes decides the kind.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .mime import Mail
from .model import CASE_REF_RE, OWN_MARKER_HEADER

_SUBJECT_TAG_RE = re.compile(r"\[(ESC-\d{4}-\d{4,})\]")
_AUTO_SUBJECT_RE = re.compile(
    r"^\s*(?:automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (?:the )?office|ooo\b|"
    r"abwesenheitsnotiz|réponse automatique)",
    re.IGNORECASE,
)
_DAEMON_RE = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)


@dataclass(frozen=True)
class Envelope:
    """Header facts the rules read, decoded once."""

    sender: str | None
    subject: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]


def case_ref(env: Envelope) -> str | None:
    """The case a message belongs to: In-Reply-To, then References (newest first), then the subject tag."""
    for msg_id in env.in_reply_to + tuple(reversed(env.references)):
        match = CASE_REF_RE.search(msg_id)
        if match:
            return match.group()
    match = _SUBJECT_TAG_RE.search(env.subject)
    return match.group(1) if match else None


def is_own(mail: Mail, env: Envelope) -> bool:
    return OWN_MARKER_HEADER.lower() in mail.headers


def is_bounce(mail: Mail, env: Envelope) -> bool:
    if mail.content_type == "multipart/report" and mail.report_type.lower() == "delivery-status":
        return True
    if mail.has_delivery_status or "x-failed-recipients" in mail.headers:
        return True
    return bool(env.sender and _DAEMON_RE.match(env.sender))


def is_auto_reply(mail: Mail, env: Envelope) -> bool:
    auto = mail.header("auto-submitted").split(";")[0].strip().lower()
    if auto and auto != "no":
        return True
    if mail.header("precedence").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    if any(h in mail.headers for h in ("list-id", "list-unsubscribe", "x-autoreply", "x-autorespond")):
        return True
    return bool(_AUTO_SUBJECT_RE.match(env.subject))


def has_case_ref(mail: Mail, env: Envelope) -> bool:
    return case_ref(env) is not None


RULES: tuple[tuple[str, Callable[[Mail, Envelope], bool]], ...] = (
    ("auto_reply", is_own),
    ("bounce", is_bounce),
    ("auto_reply", is_auto_reply),
    ("reply", has_case_ref),
)


def classify(mail: Mail, env: Envelope) -> str:
    """The kind decided by headers alone; "unknown" means: read the text (intake or invalid)."""
    for kind, check in RULES:
        if check(mail, env):
            return kind
    return "unknown"
