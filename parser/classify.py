"""Classify, then act: small rules in one ordered tuple, read top to bottom like the policy.

Each rule answers `check(head, mail) -> bool` from the header block (parser/head.py) and the
parts' types; the first that says yes decides the kind. List and group mail is *not* a rule:
a party replying through a team distribution list is a reply (`Head.via_list` tells the
tracker never to answer it).
"""
from __future__ import annotations

import re
from typing import Callable

from .head import Head, read_head
from .mime import Mail
from .model import CASE_REF_RE

_SUBJECT_TAG_RE = re.compile(r"\[(ESC-\d{4}-\d{4,})\]")
_DAEMON_RE = re.compile(r"(?:^|[\s<\"])(?:mailer-daemon|mail-daemon|mailerdaemon|postmaster|post_master)(?:@|\s|>|$)",
                        re.IGNORECASE)
_FAILURE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered mail|delivery (?:status notification|failure|has failed|failed)|failure notice"
    r"|returned mail|mail delivery (?:failed|system)|could not be delivered|non remis|unzustellbar"
    r"|メールエラー|配信エラー|エラー通知", re.IGNORECASE)


def case_ref(head: Head) -> str | None:
    """The case a message belongs to: In-Reply-To, then References (newest first), then the subject tag."""
    for msg_id in head.in_reply_to + tuple(reversed(head.references)):
        match = CASE_REF_RE.search(msg_id)
        if match:
            return match.group()
    match = _SUBJECT_TAG_RE.search(head.subject)
    return match.group(1) if match else None


def is_own(head: Head, mail: Mail) -> bool:
    return head.own_marker


def is_bounce(head: Head, mail: Mail) -> bool:
    """A delivery report: by its structure, by Exim's/Gmail's header, or sent by a mail
    daemon; a null return path with a failure subject (DragonFly, KDDI) counts too."""
    if head.content_type == "multipart/report" and head.report_type == "delivery-status":
        return True
    if mail.has_delivery_status or head.values("x-failed-recipients") or head.values("x-ms-exchange-message-is-ndr"):
        return True
    if _DAEMON_RE.search(head.first("from")):
        return True
    null_sender = head.first("return-path").strip() in ("<>", "") and bool(head.values("return-path"))
    machine = null_sender or not head.sender or mail.has_returned_message
    return bool(machine and _FAILURE_SUBJECT_RE.search(head.subject))


def may_be_bounce(head: Head) -> bool:
    """Could this be a delivery report, by its header block alone? (A service judging senders
    before reading reads these even from unknown domains or with no readable sender, as
    bounces come: their structure, their headers, a mail daemon's address, or a failure
    subject. Whether it is one is decided by `classify` once the body is read.)

    >>> may_be_bounce(read_head(b"From: MAILER-DAEMON@mx.example.test\\nSubject: x\\n\\n"))
    True
    """
    return is_bounce(head, Mail()) or bool(_FAILURE_SUBJECT_RE.search(head.subject))


def is_auto_reply(head: Head, mail: Mail) -> bool:
    return head.auto_marked


def has_case_ref(head: Head, mail: Mail) -> bool:
    return case_ref(head) is not None


RULES: tuple[tuple[str, Callable[[Head, Mail], bool]], ...] = (
    ("auto_reply", is_own),
    ("bounce", is_bounce),
    ("auto_reply", is_auto_reply),
    ("reply", has_case_ref),
)


def classify(head: Head, mail: Mail) -> str:
    """The kind decided by headers alone; "unknown" means: read the text (intake or invalid)."""
    for kind, check in RULES:
        if check(head, mail):
            return kind
    return "unknown"
