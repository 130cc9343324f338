"""The database seam: engine creation and an aware-UTC datetime column type.

SQLite is the embedded default; PostgreSQL (psycopg 3) is the production path.
Both go through the same SQLModel code.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, create_engine

from tracker.errors import ConfigError


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as UTC and always gives them back aware.

    SQLite has no time zone type; without this, values would come back naive and
    comparisons with aware `now` values would fail or, worse, silently shift.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utc_column(nullable: bool = False, index: bool = False) -> sa.Column:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


def make_engine(url: str) -> sa.Engine:
    """Engine for `url`; SQLite files get WAL, foreign keys and owner-only permissions."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _sqlite_engine(url: str) -> sa.Engine:
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        try:
            _private_file(Path(path))
        except OSError as exc:
            raise ConfigError("database.url", f"cannot open the SQLite file {path}: {exc.strerror or exc}; a relative "
                              "one is in the state directory: set [state] dir, $ESCALATIONS_STATE_DIR or "
                              "systemd's StateDirectory= to a folder the service may write") from None
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every sqlite test
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        path.touch(exist_ok=True)
    finally:
        os.umask(old)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)


def create_schema(engine: sa.Engine) -> None:
    """Bring the schema to the newest version (Alembic migrations; idempotent)."""
    from tracker.storage import migrate

    migrate.upgrade(engine)


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
