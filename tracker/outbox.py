"""The durable outbox: mail rows written with the change that caused them, sent once.

Enqueue happens inside the caller's transaction. `drain()` sends what is due over one
transport connection. The Message-ID is fixed at enqueue, so if the process dies after
the server's 250 but before the row is marked sent, the one resend carries the same
Message-ID and mail clients show it once.
"""
from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mailer.compose import Composer, Envelope
from mailer.transport import PermanentFailure, TemporaryFailure, Transport
from tracker.db import transaction
from tracker.models import OutboxMail

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


def message_id(idem_key: str, kind: str, ref: str | None, domain: str) -> str:
    """Deterministic per idempotency key; carries the case reference so replies match."""
    token = hashlib.sha256(idem_key.encode()).hexdigest()[:16]
    return f"{ref or 'ESC-NONE'}.{kind}.{token}@{domain}"


def enqueue(session: Session, composer: Composer, *, partnership, letter: Letter, idem_key: str,
            case_id: int | None, ref: str | None, thread: list[str], now: datetime) -> OutboxMail | None:
    """Write the rendered mail as a pending row. Returns None if that key was already queued."""
    if session.exec(select(OutboxMail.id).where(OutboxMail.idem_key == idem_key)).first() is not None:
        return None
    mid = message_id(idem_key, letter.kind, ref, partnership.domain)
    envelope = Envelope(
        sender=partnership.address, sender_name=partnership.display_name, to=letter.to, message_id=mid,
        date=partnership.calendar.local(now), marker=partnership.id,
        in_reply_to=letter.in_reply_to or (thread[-1] if thread else None),
        references=tuple(dict.fromkeys(thread + ([letter.in_reply_to] if letter.in_reply_to else []))),
        auto=letter.auto, attachments=letter.attachments,
    )
    raw = composer.compose(letter.kind, letter.values, envelope)
    row = OutboxMail(idem_key=idem_key, partnership=partnership.id, case_id=case_id, kind=letter.kind,
                     recipient=letter.to, message_id=mid, raw=raw, created_at=now, next_attempt_at=now)
    session.add(row)
    session.flush()
    return row


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


async def drain(engine: sa.Engine, transport: Transport, partnership: str, sender: str, now: datetime,
                instance: str = "local", on_failure=None, limit: int = 500) -> int:
    """Send every due mail of `partnership`; returns how many the server accepted."""
    sent = 0
    while ids := claim(engine, partnership, instance, now, limit):
        with Session(engine) as s:  # one read for the whole claim, not one per mail
            rows = {r.id: r for r in s.exec(select(OutboxMail.id, OutboxMail.recipient, OutboxMail.raw,
                                                   OutboxMail.kind).where(OutboxMail.id.in_(ids)))}
        for i, row_id in enumerate(ids):
            _, recipient, raw, kind = rows[row_id]
            try:
                await transport.send(raw, sender, [recipient], name=kind)
            except TemporaryFailure as exc:
                _retry_later(engine, row_id, str(exc), now)
                _release(engine, ids[i + 1:])
                log.warning("outbox %s: temporary failure, will retry", row_id)
                return sent  # the server is unhappy: stop this round, keep order
            except PermanentFailure as exc:
                _mark(engine, row_id, "failed", str(exc), now)
                log.error("outbox %s: refused permanently", row_id)
                if on_failure:
                    on_failure(row_id, str(exc))
                continue
            _mark(engine, row_id, "sent", None, now)
            sent += 1
        if len(ids) < limit:
            break
    return sent


def _release(engine: sa.Engine, ids: list[int]) -> None:
    if ids:
        with transaction(engine) as s:
            s.exec(sa.update(OutboxMail).where(OutboxMail.id.in_(ids), OutboxMail.status == "sending")
                   .values(status="pending", claimed_by=None, claimed_at=None))


def _mark(engine: sa.Engine, row_id: int, status: str, error: str | None, now: datetime) -> None:
    """One UPDATE, committed at once: after a 250 this is the only work before the row is
    safe, so a death in between (the one window that can send a mail twice) stays short."""
    with engine.begin() as conn:
        conn.execute(sa.update(OutboxMail).where(OutboxMail.id == row_id).values(
            status=status, last_error=error, attempts=OutboxMail.attempts + 1,
            sent_at=now if status == "sent" else None))


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
