"""The durable outbox: mail rows written with the change that caused them, sent once.

Enqueue happens inside the caller's transaction and keeps the letter (kind, values,
envelope); `drain()` composes and sends what is due over one transport connection. The
Message-ID is fixed at enqueue, so if the process dies after the server's 250 but before
the row is marked sent, the one resend carries the same Message-ID and mail clients show
it once.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, select

from mailer.compose import Attachment, Composer, Envelope
from mailer.transport import PermanentFailure, TemporaryFailure, Transport
from tracker.storage.db import transaction
from tracker.storage.models import OutboxMail

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Letter:
    """One mail the service has decided to send: its kind, recipient and template values."""

    kind: str
    to: str
    values: dict
    in_reply_to: str | None = None
    auto: str = "auto-generated"
    attachments: tuple = ()


@dataclass(frozen=True)
class Later:
    """An attachment made when the mail is composed, by `tracker.outgoing.documents.MAKERS[maker]`,
    from plain values fixed at enqueue (a calendar entry costs more to make than the rest
    of a case change: a backlog should not wait for it)."""

    maker: str
    args: dict


def message_id(idem_key: str, kind: str, ref: str | None, domain: str) -> str:
    """Deterministic per idempotency key; carries the case reference so replies match."""
    token = hashlib.sha256(idem_key.encode()).hexdigest()[:16]
    return f"{ref or 'ESC-NONE'}.{kind}.{token}@{domain}"


def enqueue(session: Session, *, partnership, letter: Letter, idem_key: str, case_id: int | None,
            ref: str | None, thread: list[str], now: datetime) -> int | None:
    """Write the letter as a pending row; returns its id, or None if that key was already queued."""
    return enqueue_many(session, partnership, [(letter, idem_key)], case_id=case_id, ref=ref, thread=thread,
                        now=now)[0]


def enqueue_many(session: Session, partnership, letters: list[tuple[Letter, str]], *, case_id: int | None,
                 ref: str | None, thread: list[str], now: datetime) -> list[int | None]:
    """Write each (letter, idempotency key) as a pending row, in the caller's transaction;
    returns the new rows' ids, None for a key already queued. One INSERT for all of them
    (ON CONFLICT DO NOTHING on the key: a key already queued is skipped by the database).

    A row holds the letter's kind, template values and envelope as JSON; the sender composes
    the bytes (`compose`). Composing at send time keeps a backlog's ingest to the case change
    itself, and the bytes are the same whenever they are made: the Message-ID, the Date and
    the MIME boundaries are fixed here."""
    ids = insert_pending(session, [pending_row(partnership, letter, key, case_id, ref, thread, now)
                                   for letter, key in letters])
    return [ids.pop(key, None) for _, key in letters]  # a key twice in `letters`: its first gets the id


def insert_pending(session: Session, rows: list[dict]) -> dict[str, int]:
    """Write pending rows (`pending_row`), whatever case each is for, in one INSERT ... ON
    CONFLICT (idem_key) DO NOTHING; returns {idempotency key: id} of the rows written (a key
    already queued is skipped by the database; a key twice in `rows` is written once, the
    first)."""
    first: dict[str, dict] = {}
    for row in rows:
        first.setdefault(row["idem_key"], row)
    if not first:
        return {}
    table = OutboxMail.__table__
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)
    stmt = insert.on_conflict_do_nothing(index_elements=["idem_key"]).returning(table.c.idem_key, table.c.id)
    return dict(session.execute(stmt, list(first.values())).all())


def pending_row(partnership, letter: Letter, idem_key: str, case_id: int | None, ref: str | None,
                thread: list[str], now: datetime) -> dict:
    """The column values of a new outbox row (see `enqueue`)."""
    mid = message_id(idem_key, letter.kind, ref, partnership.domain)
    envelope = {
        "sender": partnership.address, "sender_name": partnership.display_name, "to": letter.to,
        "message_id": mid, "date": partnership.calendar.local(now), "marker": partnership.id,
        "in_reply_to": letter.in_reply_to or (thread[-1] if thread else None),
        "references": list(dict.fromkeys(thread + ([letter.in_reply_to] if letter.in_reply_to else []))),
        "auto": letter.auto,
    }
    attachments = [{"make": a.maker, "args": a.args} if isinstance(a, Later) else
                   {"filename": a.filename, "content_type": a.content_type, "data": base64.b64encode(a.data).decode()}
                   for a in letter.attachments]
    payload = json.dumps({"kind": letter.kind, "values": letter.values, "envelope": envelope,
                          "attachments": attachments}, default=_plain, ensure_ascii=False, separators=(",", ":"))
    return dict(idem_key=idem_key, partnership=partnership.id, case_id=case_id, kind=letter.kind,
                recipient=letter.to, message_id=mid, letter=payload, created_at=now, next_attempt_at=now)


def _plain(value):
    """Template values as JSON: table rows as dicts, times as ISO text (templates only show
    them or test them for truth); anything else is a mistake to catch at enqueue."""
    if isinstance(value, SQLModel):
        return value.model_dump()
    if isinstance(value, SimpleNamespace):  # a case being opened (cases.open_cases)
        return vars(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"a template value of type {type(value).__name__} cannot be kept in the outbox")


def bytes_of(composer: Composer, row: OutboxMail) -> bytes:
    """A row's mail: the bytes as sent, or as they will be sent."""
    return row.raw if row.raw is not None else compose(composer, row.letter)


def compose(composer: Composer, letter_json: str) -> bytes:
    """The bytes of a queued letter."""
    from tracker.outgoing.documents import MAKERS

    d = json.loads(letter_json)
    env = d["envelope"]
    envelope = Envelope(**{**env, "date": datetime.fromisoformat(env["date"]),
                           "references": tuple(env["references"])},
                        attachments=tuple(MAKERS[a["make"]](a["args"]) if "make" in a else
                                          Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
                                          for a in d["attachments"]))
    return composer.compose(d["kind"], d["values"], envelope)


def pending_count(engine: sa.Engine) -> int:
    with Session(engine) as s:
        return s.exec(select(sa.func.count()).select_from(OutboxMail).where(OutboxMail.status == "pending")).one()


CLAIM_TIMEOUT = timedelta(minutes=10)  # a claim older than this belongs to a sender that died


def claim(engine: sa.Engine, partnership: str, instance: str, now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due rows of `partnership` as being sent by `instance`.

    Rows are locked with FOR UPDATE SKIP LOCKED on PostgreSQL, and the UPDATE re-checks that
    each row is still claimable, so two senders never take the same row (SQLite serialises
    the UPDATE)."""
    claimable = sa.or_(
        sa.and_(OutboxMail.status == "pending", OutboxMail.next_attempt_at <= now),
        sa.and_(OutboxMail.status == "sending", OutboxMail.claimed_at < now - CLAIM_TIMEOUT))
    with transaction(engine) as s:
        ids = list(s.exec(select(OutboxMail.id).where(OutboxMail.partnership == partnership, claimable)
                          .order_by(OutboxMail.id).limit(limit).with_for_update(skip_locked=True)))
        if not ids:
            return []
        taken = s.exec(sa.update(OutboxMail).where(OutboxMail.id.in_(ids), claimable)
                       .values(status="sending", claimed_by=instance, claimed_at=now)
                       .returning(OutboxMail.id))
        return sorted(taken.scalars().all())


async def drain(engine: sa.Engine, transport: Transport, composer: Composer, partnership: str, sender: str,
                now: datetime, instance: str = "local", on_failure=None, limit: int = 500) -> int:
    """Send every due mail of `partnership`; returns how many the server accepted. Each is
    composed just before it is sent, and marked sent straight after the server's 250."""
    sent, marks = 0, _Marks(engine)
    try:
        while ids := claim(engine, partnership, instance, now, limit):
            with Session(engine) as s:  # one read for the whole claim, not one per mail
                rows = {r.id: r for r in s.exec(select(OutboxMail.id, OutboxMail.recipient, OutboxMail.kind,
                                                       OutboxMail.letter, OutboxMail.raw)
                                                .where(OutboxMail.id.in_(ids)))}
            for i, row_id in enumerate(ids):
                _, recipient, kind, letter, raw = rows[row_id]
                try:
                    raw = raw or compose(composer, letter)
                except Exception as exc:  # noqa: BLE001 - a template that cannot render: tell someone, go on
                    _failed(engine, row_id, "could not be composed",
                            f"could not be composed ({type(exc).__name__}: {str(exc)[:200]})", on_failure)
                    continue
                try:
                    await transport.send(raw, sender, [recipient], name=kind)
                except TemporaryFailure as exc:
                    _retry_later(engine, row_id, str(exc), now)
                    _release(engine, ids[i + 1:])
                    log.warning("outbox %s: temporary failure, will retry", row_id)
                    return sent  # the server is unhappy: stop this round, keep order
                except PermanentFailure as exc:
                    _failed(engine, row_id, "refused permanently", str(exc), on_failure)
                    continue
                marks.sent(row_id, now, raw)
                sent += 1
            if len(ids) < limit:
                break
    finally:
        marks.close()
    return sent


def _failed(engine: sa.Engine, row_id: int, why: str, error: str, on_failure) -> None:
    """`why` goes to the log; `error` (it may name the recipient) only to the row and the case."""
    with engine.begin() as conn:
        conn.execute(_MARK_FAILED, {"row_id": row_id, "error": error})
    log.error("outbox %s: %s", row_id, why)
    if on_failure:
        on_failure(row_id, error)


def _release(engine: sa.Engine, ids: list[int]) -> None:
    if ids:
        with transaction(engine) as s:
            s.exec(sa.update(OutboxMail).where(OutboxMail.id.in_(ids), OutboxMail.status == "sending")
                   .values(status="pending", claimed_by=None, claimed_at=None))


# Built once, with bind parameters: building one per mail cost more than its commit.
_T = OutboxMail.__table__
_MARK_SENT = _T.update().where(_T.c.id == sa.bindparam("row_id")).values(
    status="sent", last_error=None, attempts=_T.c.attempts + 1, sent_at=sa.bindparam("at"),
    raw=sa.bindparam("raw"), letter=None)
_MARK_FAILED = _T.update().where(_T.c.id == sa.bindparam("row_id")).values(
    status="failed", last_error=sa.bindparam("error"), attempts=_T.c.attempts + 1, sent_at=None)


class _Marks:
    """Marks rows sent, for one drain, each with one UPDATE that commits by itself
    (autocommit) on a connection held for the drain: after a 250 this is the only work
    before the row is safe, so a death in between (the one window that can send a mail
    twice) stays short. A transaction of its own from the pool cost four round trips on
    PostgreSQL (pre-ping, BEGIN, UPDATE, COMMIT); this is one. A connection lost in
    between is replaced and the mark tried once more: the mail has gone, and a row left
    unmarked would be sent again. A sent row keeps the bytes as sent, and no longer the
    letter they were made from."""

    def __init__(self, engine: sa.Engine):
        self.engine, self.conn = engine, None

    def sent(self, row_id: int, now: datetime, raw: bytes) -> None:
        for last_try in (False, True):
            try:
                if self.conn is None:
                    self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self.conn.execute(_MARK_SENT, {"row_id": row_id, "at": now, "raw": raw})
                return
            except sa.exc.DBAPIError as exc:
                self.close()
                if last_try or not exc.connection_invalidated:
                    raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _retry_later(engine: sa.Engine, row_id: int, error: str, now: datetime) -> None:
    with transaction(engine) as s:
        row = s.get(OutboxMail, row_id)
        row.attempts += 1
        row.last_error = error
        row.status, row.claimed_by, row.claimed_at = "pending", None, None
        # 2 s, 4 s, 8 s ... up to an hour: a server back after a restart is used within seconds,
        # one that stays down is asked rarely.
        delay = min(timedelta(seconds=2 * 2 ** min(row.attempts - 1, 12)), MAX_BACKOFF)
        row.next_attempt_at = now + delay * random.uniform(0.8, 1.2)
