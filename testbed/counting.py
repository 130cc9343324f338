"""Counting what the service did without going through the service: the Maildirs under the
stack's base directory and the database, read directly. Cheap, and independent of the code
under test."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from email.parser import BytesHeaderParser
from pathlib import Path

from testbed.mailstack import MailStack

def maildir_files(stack: MailStack, user: str, folder: str = "INBOX") -> list[Path]:
    root = stack.maildir(user) if folder == "INBOX" else stack.maildir(user) / f".{folder}"
    return [p for sub in ("new", "cur") if (root / sub).is_dir() for p in (root / sub).iterdir()]


def count(stack: MailStack, user: str, folder: str = "INBOX") -> int:
    """How many messages the folder holds: names only (a benchmark polls this several times a
    second on the machine it measures; building a Path per file cost 10 ms at 10,000 files)."""
    root = stack.maildir(user) if folder == "INBOX" else stack.maildir(user) / f".{folder}"
    return sum(len(os.listdir(root / sub)) for sub in ("new", "cur") if (root / sub).is_dir())


_HEADERS = BytesHeaderParser()


def message_ids(stack: MailStack, user: str, folder: str = "INBOX") -> list[str]:
    """The Message-ID of every message in *folder* of *user*, duplicates kept."""
    out = []
    for path in maildir_files(stack, user, folder):
        with contextlib.suppress(FileNotFoundError):
            with open(path, "rb") as f:
                head = f.read(16384).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
            out.append(str(_HEADERS.parsebytes(head).get("Message-ID", "")).strip())
    return out


_engines: dict = {}


def db_scalar(db: Path | str, sql: str, *params) -> int | str | None:
    """One value from the service's SQLite file (read-only; 0 while it does not exist yet),
    or from the database at a URL (PostgreSQL: `db` is then a str); None when no row matches
    (a lease taken over from a dead holder is deleted, then inserted: there is a moment with none)."""
    if isinstance(db, str):
        import sqlalchemy as sa

        engine = _engines.setdefault(db, sa.create_engine(db, poolclass=sa.pool.NullPool))
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql(sql.replace("?", "%s"), params).scalar()
        except sa.exc.ProgrammingError:  # schema not created yet
            return 0
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def cases(db: Path | str) -> int:
    return db_scalar(db, "SELECT count(*) FROM \"case\"")
