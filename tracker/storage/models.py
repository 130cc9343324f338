"""Tables. The stage is a column holding the policy's stage key, never a function name.

Times are aware UTC (see `tracker.storage.db.UTCDateTime`). Free text from cases lives only in
`Case`, `Event.statement` and the raw mail columns, so retention can purge exactly those.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from tracker.storage.db import utc_column


class Case(SQLModel, table=True):
    # For the desk: its open cases by due time (Today, the Cases page's default), its agency
    # filter, and its search (client references scanned in a narrow index, not the wide
    # table). None starts with the partnership: SQLite (without statistics) would walk such an
    # index for every `partnership = ?`, and the weekly digest took five times as long.
    __table_args__ = (sa.Index("ix_case_client_reference", "client_reference"),
                      sa.Index("ix_case_status_due", "status", "stage_due_at"),
                      sa.Index("ix_case_raiser_agency", "raiser_agency"),
                      sa.Index("ix_case_other_agency", "other_agency"))
    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(index=True, unique=True)
    partnership: str = Field(index=True)
    policy: str
    stage: str = Field(index=True)
    status: str = Field(default="open", index=True)  # open | resolved | withdrawn
    about: str = "child"
    immediate_risk: bool = False
    category: str
    client_reference: str
    decision_disputed: str
    decision_date: date
    reasons: str
    outcome_sought: str
    discussions: Optional[str] = None
    raised_at: datetime = Field(sa_column=utc_column())
    stage_started_at: datetime = Field(sa_column=utc_column())
    stage_due_at: datetime = Field(sa_column=utc_column(index=True))
    acknowledged_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    # When the deadline reminder is due (one working day before the stage's due time); None once sent.
    remind_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True, index=True))
    # Set once the stage's on-expiry rule has run, so it runs once per stage.
    expiry_handled_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    closed_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    outcome: Optional[str] = None
    thread_id: str
    # For the Board: flagged from replies ("policy gap", "debrief"), carried by the digest
    # as flags only, never as text.
    policy_gap_flagged: bool = False
    debrief_requested: bool = False
    referred_to_board_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    raiser_agency: Optional[str] = None  # denormalised for the digest's counts by agency
    other_agency: Optional[str] = None
    purged_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    # A hard bounce left a side of the stage with nobody who has its notice: the stage's clock
    # stands still from then until business support corrects or routes (tracker/stages/support.py).
    clock_stopped_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    clock_stopped_for: Optional[str] = None  # the side: raiser | other
    # What brings people onto the case for all of it (West Sussex: the IRO, the CP chairs).
    looked_after: bool = False
    conference: bool = False
    # The case record's head (tracker/cases/record.py): how many entries were written and the
    # last one's hash, moved with every entry, so a record cut short is seen.
    record_seq: int = 0
    record_head: Optional[str] = None


class Party(SQLModel, table=True):
    """A person on a case. `stage` is None for the four intake parties (they stay parties
    throughout); people brought in by an escalation carry the stage key they act at."""

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    role: str  # raiser | raiser_manager | other_party | other_manager | a policy role
    stage: Optional[str] = None
    side: str = "raiser"  # raiser | other | board
    name: Optional[str] = None
    title: Optional[str] = None
    agency: Optional[str] = None
    email: str = Field(index=True)
    bounced: bool = False  # a hard bounce said this address does not reach them


class Event(SQLModel, table=True):
    """Append-only case record; each row carries the hash of the one before it."""

    __table_args__ = (sa.UniqueConstraint("case_id", "seq"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    seq: int
    at: datetime = Field(sa_column=utc_column())
    kind: str
    actor: str
    stage: str
    summary: str
    statement: Optional[str] = None
    # sha256 of the statement: the chain covers this, so purging the words keeps it verifiable
    statement_hash: Optional[str] = None
    inbound_id: Optional[int] = None
    outbox_id: Optional[int] = None
    # sha256 of the case's values and people as this entry left them (tracker/cases/snapshot.py),
    # covered by `hash`; the snapshot itself where it differs from the entry before. Entries
    # written before migration 0009 (record_covers_case) have neither.
    state_hash: Optional[str] = None
    state: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    prev_hash: str
    hash: str


class InboundMessage(SQLModel, table=True):
    """Every message the service has taken from a mailbox, and where it put it."""

    __table_args__ = (
        sa.UniqueConstraint("mailbox", "source_key"),
        sa.UniqueConstraint("mailbox", "sha256"),
        sa.Index("ix_inboundmessage_sender_received", "partnership", "sender", "received_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    partnership: Optional[str] = Field(default=None, index=True)
    mailbox: str
    source_key: str  # "<uidvalidity>:<uid>" for IMAP, the file key for a Maildir
    message_id: Optional[str] = Field(default=None, index=True)
    sha256: str  # of the raw bytes: catches clients that reuse or omit Message-IDs
    received_at: datetime = Field(sa_column=utc_column())
    kind: str
    disposition: str  # processed | quarantine
    reason: str
    case_id: Optional[int] = Field(default=None, foreign_key="case.id", index=True)
    sender: Optional[str] = None
    raw: Optional[bytes] = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    moved: bool = False
    # Held back for personal data (an intake, under the reference it was given, or a reply, under
    # its case's): its sender may answer NOT IDENTIFYING (tracker/cases/holds.py); cleared then.
    held_as: Optional[str] = Field(default=None, index=True)


class OutboxMail(SQLModel, table=True):
    """A mail to send, written in the same transaction as the change that caused it."""

    id: Optional[int] = Field(default=None, primary_key=True)
    idem_key: str = Field(unique=True)  # case/event/recipient/kind
    partnership: str = Field(index=True)
    case_id: Optional[int] = Field(default=None, foreign_key="case.id", index=True)
    kind: str
    recipient: str
    message_id: str  # fixed at enqueue: a resend after a crash is recognisably the same mail
    # kind, template values and envelope as JSON, written at enqueue; the sender composes
    # the mail from it and then keeps the bytes as sent in `raw` (and clears this)
    letter: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    raw: Optional[bytes] = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    status: str = Field(default="pending", index=True)  # pending | sending | sent | failed
    claimed_by: Optional[str] = None  # the instance sending it now (several may share a database)
    claimed_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = 0
    created_at: datetime = Field(sa_column=utc_column())
    next_attempt_at: datetime = Field(sa_column=utc_column(index=True))
    sent_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
    last_error: Optional[str] = None


class CalendarEntry(SQLModel, table=True):
    """A deadline sent to someone as a calendar entry (.ics), so it can follow the case: moved
    (same UID, higher SEQUENCE) when its due time changes, cancelled (METHOD:CANCEL) when the
    stage is done with (RFC 5546)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    uid: str
    recipient: str
    stage: str
    sequence: int = 0
    due_at: datetime = Field(sa_column=utc_column())
    cancelled_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))


class RefCounter(SQLModel, table=True):
    """Last sequence number used for case references in a year, deployment-wide."""

    year: int = Field(primary_key=True)
    last: int = 0


class DigestRun(SQLModel, table=True):
    """One row per partnership and ISO week once that week's digest is queued: never twice."""

    partnership: str = Field(primary_key=True)
    week: str = Field(primary_key=True)  # "2026-W48"
    queued_at: datetime = Field(sa_column=utc_column())


class Lease(SQLModel, table=True):
    """Who holds a mailbox: one instance at a time; another takes over when it lapses."""

    name: str = Field(primary_key=True)  # "mailbox:<partnership>"
    holder: str
    expires_at: datetime = Field(sa_column=utc_column())


class DeskSignin(SQLModel, table=True):
    """A request for a one-time sign-in link to the desk. Every request is a row, for an
    address the desk knows or not, so the rate limit holds across instances sharing the
    database; only a known address gets a token, and only the token's hash is kept."""

    # The rate limit counts an address's requests in the last minutes.
    __table_args__ = (sa.Index("ix_desksignin_email_requested", "partnership", "email", "requested_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    partnership: str
    email: str  # as asked for, lower-cased
    token_hash: Optional[str] = Field(default=None, unique=True)  # sha256 of the link's token
    requested_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: Optional[datetime] = Field(default=None, sa_column=utc_column(nullable=True))
