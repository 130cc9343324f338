"""One-time sign-in links, sent by email to addresses the desk knows.

A request for a link is answered the same way whether the address is known or not (no
account enumeration), and every request is a row (DeskSignin), so the rate limit holds
across desk instances sharing one database. A known address gets a random token: the mail
(queued in the durable outbox, sent by the daemon like every other mail) carries it, the
database keeps only its sha256. The link works once, within `link_minutes`: redeeming it is
one UPDATE ... WHERE used_at IS NULL, so two instances cannot both accept it.

    with transaction(engine) as s:
        link = request_link(s, partnership, settings, "business@partnership.example.test", now, known)
    with transaction(engine) as s:
        email = redeem(s, partnership.id, token, now)      # -> the address, or None
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from tracker.desk.signin.access import configured_roles
from tracker.desk.data import is_party
from tracker.desk.signin.settings import DeskSettings
from tracker.storage.models import DeskSignin
from tracker.outgoing.outbox import Letter, enqueue

PER_ADDRESS = 3  # links asked for one address within WINDOW
PER_PARTNERSHIP = 200  # requests of any address within WINDOW, against a flood
WINDOW = timedelta(minutes=15)
TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(settings: DeskSettings, token: str) -> str:
    return f"{settings.base_url}/sign-in/link/{token}"


def known(session: Session, partnership, settings: DeskSettings, email: str) -> bool:
    """Configured for a role by address, or a party to one of the partnership's cases.
    (Someone known only through an identity-provider group signs in with that provider.)"""
    return bool(configured_roles(settings, email).roles) or is_party(session, partnership.id, email)


def _recent(session: Session, pid: str, now: datetime, email: str | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(DeskSignin).where(
        DeskSignin.partnership == pid, DeskSignin.requested_at > now - WINDOW)
    if email is not None:
        q = q.where(DeskSignin.email == email)
    return session.execute(q).scalar_one()


def request_link(session: Session, partnership, settings: DeskSettings, email: str, now: datetime) -> str | None:
    """Record the request; for a known address within the limits, queue the mail with a new
    link. Returns the link (for the demo to print), or None when nothing was sent. The
    caller answers the person the same way in either case."""
    email = email.strip().lower()
    limited = (_recent(session, partnership.id, now, email) >= PER_ADDRESS
               or _recent(session, partnership.id, now) >= PER_PARTNERSHIP)
    token = secrets.token_urlsafe(TOKEN_BYTES) if not limited and known(session, partnership, settings, email) else None
    expires = now + timedelta(minutes=settings.link_minutes)
    session.add(DeskSignin(partnership=partnership.id, email=email, token_hash=token and token_hash(token),
                           requested_at=now, expires_at=expires))
    if token is None:
        return None
    link = link_url(settings, token)
    values = {"partnership": partnership.name, "ref": None, "link": link, "minutes": settings.link_minutes}
    enqueue(session, partnership=partnership, letter=Letter("desk_link", email, values),
            idem_key=f"desk-link/{token_hash(token)}", case_id=None, ref=None, thread=[], now=now)
    return link


def redeem(session: Session, pid: str, token: str, now: datetime) -> str | None:
    """Use the link: the address it was sent to, or None if it is unknown, used or expired."""
    if not token or len(token) > 100:
        return None
    t = DeskSignin.__table__
    q = (sa.update(t).where(t.c.token_hash == token_hash(token), t.c.partnership == pid, t.c.used_at.is_(None),
                            t.c.expires_at > now).values(used_at=now).returning(t.c.email))
    row = session.execute(q).first()
    return row[0] if row else None
