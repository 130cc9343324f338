"""One instance holds a partnership's mailbox; a second one waits and takes over when the
holder's lease lapses (it died, or lost the database). A row in the database, so it works
the same on SQLite and PostgreSQL, and across hosts."""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from tracker.storage.db import transaction
from tracker.storage.models import Lease, OutboxMail

TTL = timedelta(seconds=15)


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(engine: sa.Engine, name: str, holder: str, now: datetime, ttl: timedelta = TTL) -> bool:
    """Take or renew the lease `name`; True if `holder` has it until now + ttl."""
    try:
        with transaction(engine) as s:
            row = s.get(Lease, name, with_for_update=True)
            if row is None:
                s.add(Lease(name=name, holder=holder, expires_at=now + ttl))
                return True
            if row.holder != holder and row.expires_at > now:
                return False
            row.holder, row.expires_at = holder, now + ttl
            s.add(row)
            return True
    except sa.exc.IntegrityError:  # another instance inserted it first
        return False
    except sa.exc.OperationalError:  # database busy or gone: we cannot claim to hold it
        return False


def release(engine: sa.Engine, name: str, holder: str) -> None:
    with transaction(engine) as s:
        s.exec(sa.delete(Lease).where(Lease.name == name, Lease.holder == holder))


def holder(engine: sa.Engine, name: str) -> str | None:
    with Session(engine) as s:
        row = s.get(Lease, name)
        return row.holder if row else None


def reclaim_unsent(engine: sa.Engine, partnership: str) -> int:
    """On taking over: mail the previous holder had claimed but not marked sent goes back to
    pending (its Message-ID is unchanged, so a resend of one already accepted shows once)."""
    with transaction(engine) as s:
        result = s.exec(sa.update(OutboxMail).where(OutboxMail.partnership == partnership,
                                                    OutboxMail.status == "sending")
                        .values(status="pending", claimed_by=None, claimed_at=None))
        return result.rowcount
