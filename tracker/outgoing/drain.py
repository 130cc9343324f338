"""Draining the outbox: claim what is due, compose each mail just before sending it, send it
over one transport connection, and mark it sent straight after the server's 250."""
from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from mailer.compose import Composer
from mailer.transport import PermanentFailure, TemporaryFailure, Transport
from tracker.outgoing.outbox import compose
from tracker.storage.db import transaction
from tracker.storage.models import OutboxMail

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
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
                    log.warning("outbox %s: temporary failure, will retry", row_id, extra={"outbox_row": row_id})
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
    log.error("outbox %s: %s", row_id, why, extra={"outbox_row": row_id})
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
