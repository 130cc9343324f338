"""The frozen values `parse_message` returns; nothing here reads mail."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from .attachments import Attachment
from .bounce import BounceReport
from .head import Head

#: Every mail the service sends carries this header; incoming mail with it is our own (auto_reply).
OWN_MARKER_HEADER = "X-Escalations-Service"

#: A case reference, e.g. ESC-2026-0042 (CONTRACT.md §4).
CASE_REF_RE = re.compile(r"ESC-\d{4}-\d{4,}")

#: The canonical kinds of disagreement (DOMAIN.md "Kinds of disagreement"), in the seeds' order.
CATEGORIES: tuple[str, ...] = (
    "threshold / level of need",
    "roles and responsibilities",
    "need for action or the plan not meeting needs",
    "communication and information sharing",
    "closing involvement",
    "agreed action not completed",
    "whether an agency should be involved",
    "child protection conference or plan refused",
    "provision of services",
    "several professionals concerned about one agency's response",
    "other",
)

KINDS = ("intake", "reply", "auto_reply", "bounce", "invalid")
COMMANDS = ("acknowledged", "resolved", "escalate", "update", "withdraw", "conference_requested", "not_identifying")


@dataclass(frozen=True, slots=True)
class Person:
    """A professional named on the form: `Name, Role, Agency <email>`."""

    name: str | None = None
    role: str | None = None
    agency: str | None = None
    email: str | None = None

    def to_contract(self, short: bool = False) -> dict:
        """{"name", "role", "agency", "email"}; managers (short=True) carry name and email only."""
        if short:
            return {"name": self.name, "email": self.email}
        return {"name": self.name, "role": self.role, "agency": self.agency, "email": self.email}


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem with one field, in words a worker can act on."""

    field: str
    message: str

    def to_contract(self) -> dict:
        return {"field": self.field, "message": self.message}


#: On a message parser/caps.py had to cut (content past a size or line cap left out): what
#: was read is not the whole message, so it must not be acted on (ParsedMessage.cut).
CUT = Issue("message", "too long or too complex to read in full")


@dataclass(frozen=True, slots=True)
class IntakeFields:
    """The escalation form's values (CONTRACT.md §1); None where missing or unreadable."""

    case_reference: str | None = None
    about: str = "child"
    immediate_risk: bool | None = None
    category: str | None = None
    raised_by: Person | None = None
    raiser_manager: Person | None = None
    other_party: Person | None = None
    other_manager: Person | None = None
    decision_disputed: str | None = None
    decision_date: datetime.date | None = None
    reasons: str | None = None
    outcome_sought: str | None = None
    discussions: str | None = None
    looked_after: bool = False  # the child is looked after by the local authority

    def to_contract(self) -> dict:
        def person(p: Person | None, short: bool = False) -> dict | None:
            return p.to_contract(short) if p else None

        return {
            "case_reference": self.case_reference,
            "about": self.about,
            "immediate_risk": self.immediate_risk,
            "category": self.category,
            "raised_by": person(self.raised_by),
            "raiser_manager": person(self.raiser_manager, short=True),
            "other_party": person(self.other_party),
            "other_manager": person(self.other_manager, short=True),
            "decision_disputed": self.decision_disputed,
            "decision_date": self.decision_date.isoformat() if self.decision_date else None,
            "reasons": self.reasons,
            "outcome_sought": self.outcome_sought,
            "discussions": self.discussions,
            "looked_after": self.looked_after,
        }


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """One incoming message, read once at the edge: what it is, and the envelope facts.

    `sender` is the address the message counts as sent by, None when none can be named
    (`sender_problems` says why: several From addresses, a Sender naming another, a display
    name disguised as an address, ...). `head` holds everything read from the header block
    (author and agent addresses, Authentication-Results, list and loop markers).
    `via_list`: it came through a list or group (List-Id, Precedence: list): it may move a
    case, but is never answered. `bounce`: what a delivery report says (kind "bounce").
    Every text value has had control characters removed (parser/clean.py). It pickles, so a
    worker process can return it (parser/worker.py).
    """

    kind: str
    case_ref: str | None
    command: str | None
    statement: str | None
    fields: IntakeFields | None
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    message_id: str | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    sender: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    subject: str = ""
    date: datetime.datetime | None = None
    own: bool = False
    auth_results: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    sender_problems: tuple[str, ...] = ()
    via_list: bool = False
    bounce: BounceReport | None = None
    head: Head | None = None
    too_costly: bool = False  # the worker gave up on it (parser/worker.py): nothing else was read
    cut: bool = False  # only part of it was read (parser/caps.py; `errors` holds CUT): never act on it

    def to_contract(self) -> dict:
        """The JSON object of CONTRACT.md §3 `escalations parse`.

        >>> ParsedMessage("invalid", None, None, None, None).to_contract()["fields"] is None
        True
        """
        return {
            "kind": self.kind,
            "case_ref": self.case_ref,
            "command": self.command,
            "statement": self.statement,
            "fields": self.fields.to_contract() if self.kind == "intake" and self.fields else None,
            "errors": [i.to_contract() for i in self.errors],
            "warnings": [i.to_contract() for i in self.warnings],
        }
