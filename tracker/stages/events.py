"""What can happen to a case: the events the stage machine takes (tracker/stages/machine.py).
Plain frozen values; tracker/cases/ builds them from mail, the clock and the outbox."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.stages.state import Person

# The kind of disagreement that makes a case a conference dispute (parser/model.py CATEGORIES).
CONFERENCE_CATEGORY = "child protection conference or plan refused"


@dataclass(frozen=True)
class Opening:
    """An intake that opens a case: the people it names (the raiser defaulting to its sender)."""

    people: tuple[Person, ...]
    immediate_risk: bool
    actor: str  # who sent it: the address the message counts as sent by
    looked_after: bool = False  # the child is looked after by the local authority
    conference: bool = False  # the disagreement is about a child protection conference or plan
    passages: tuple = ()  # what in it seems to identify someone (parser.personal_data.Passage)
    answer: str | None = None  # the sender's NOT IDENTIFYING answer to those, once given


@dataclass(frozen=True)
class Reply:
    command: str | None  # a keyword of CONTRACT.md §2, or None
    sender: str | None  # the address the message counts as sent by
    statement: str | None
    kept: tuple[str, ...] = ()  # attachments kept with the message, never opened (named in the record)
    passages: tuple = ()  # what in the statement seems to identify someone
    answer: str | None = None  # the sender's NOT IDENTIFYING answer to those, once given
    authenticated: str | None = None  # what the receiving server said of the sender ("dmarc=pass")


@dataclass(frozen=True)
class DeadlinePassed:
    """The stage's due time has come and its on-expiry rule has not run."""


@dataclass(frozen=True)
class ReminderDue:
    """The reminder time of the stage has come."""

    due: datetime  # when the reminder was due (a late one says so)


@dataclass(frozen=True)
class MailRefused:
    """A mail of `kind` to `recipient` about this case did not arrive: refused by our mail
    server when sent (a 5xx), or reported later by a delivery status notification.
    `severity`: hard (for good), soft (failed on a passing fault), delay (still being tried)."""

    kind: str
    recipient: str
    severity: str = "hard"
    detail: str | None = None  # the server's words
    reported: bool = False  # by a delivery report after it was sent


@dataclass(frozen=True)
class Route:
    """Business support's ROUTE: the people named, one a line (CONTRACT.md §2)."""

    sender: str
    people: tuple[Person, ...]  # name, title, agency and email as written; role, side, stage decided here
    unreadable: tuple[str, ...] = ()  # lines that named nobody, quoted back


@dataclass(frozen=True)
class Correct:
    """Business support's CORRECT old -> new. `resend`: the kind of the latest notice sent to
    the old address (from the outbox), which goes again to the new one."""

    sender: str
    old: str | None
    new: str | None
    resend: str | None = None


@dataclass(frozen=True)
class DuplicateIntake:
    """An intake matching this open case (same client reference, same two agencies)."""

    sender: str


Event = Reply | DeadlinePassed | ReminderDue | MailRefused | Route | Correct | DuplicateIntake
