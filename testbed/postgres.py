"""A private, throw-away PostgreSQL server for integration tests.

Debian's PostgreSQL (``/usr/lib/postgresql/<version>/bin``), run as the ``postgres`` system
user (initdb refuses root) with its data directory and unix socket under ``base``, listening
on 127.0.0.1 at a free port, trust authentication (throw-away), and no fsync.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["Postgres", "PostgresError", "find_pg_bindir", "missing_requirements"]

INSTALL_HINT = "run scripts/install-system-packages.sh as root"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresError(RuntimeError):
    pass


def find_pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl."""
    root = Path("/usr/lib/postgresql")
    if not root.is_dir():
        return None
    versions = []
    for d in root.iterdir():
        if (d / "bin" / "initdb").exists() and (d / "bin" / "pg_ctl").exists():
            try:
                versions.append((float(d.name), d / "bin"))
            except ValueError:
                continue
    return max(versions)[1] if versions else None


def missing_requirements() -> list[str]:
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (to run the server as the postgres system user)")
    if find_pg_bindir() is None:
        problems.append("no /usr/lib/postgresql/<version>/bin/initdb (package postgresql)")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        problems.append("no 'postgres' system user (package postgresql)")
    if not shutil.which("runuser"):
        problems.append("runuser is missing (package util-linux)")
    return problems


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Postgres:
    host = "127.0.0.1"
    database = "escalations"
    role = "escalations"

    def __init__(self, base: Path) -> None:
        self.base = Path(base)
        self.data_dir = self.base / "pgdata"
        self.socket_dir = self.base / "pgsocket"
        self.log_file = self.base / "log" / "postgresql.log"
        self.port: int | None = None
        self.bindir = find_pg_bindir()
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ urls
    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``escalations`` database (superuser ``postgres``)."""
        return self.url_for(self.database)

    @property
    def dsn(self) -> str:
        """libpq/psycopg connection string of the ``escalations`` database."""
        return f"host={self.host} port={self.port} user=postgres dbname={self.database}"

    def connect(self, dbname: str | None = None, **kwargs):
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user="postgres", dbname=dbname or self.database, **kwargs
        )

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Postgres":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        # stdout/stderr to a file, never a pipe: the postmaster inherits them and outlives us.
        with open(self.base / "log" / "pg_ctl.log", "ab") as log:
            proc = subprocess.run(
                ["runuser", "-u", "postgres", "--", *argv],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=False, cwd="/",
            )
        if check and proc.returncode != 0:
            raise PostgresError(f"{' '.join(argv)} failed (rc={proc.returncode}):\n{self.tail_logs()}")
        return proc

    def start(self) -> None:
        problems = missing_requirements()
        if problems:
            raise PostgresError("cannot start PostgreSQL: " + "; ".join(problems) + f" ({INSTALL_HINT})")
        t0 = time.monotonic()
        pg = pwd.getpwnam("postgres")
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        (self.base / "log").mkdir(exist_ok=True)
        os.chmod(self.base / "log", 0o755)
        for f in ("pg_ctl.log", "postgresql.log"):
            (self.base / "log" / f).touch()
            os.chown(self.base / "log" / f, pg.pw_uid, pg.pw_gid)
        self.socket_dir.mkdir(exist_ok=True)
        os.chown(self.socket_dir, pg.pw_uid, pg.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(exist_ok=True)
            os.chown(self.data_dir, pg.pw_uid, pg.pw_gid)
            os.chmod(self.data_dir, 0o700)
            self._as_postgres(
                str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions",
            )
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.write(
                    "\n# escalations integration tests: throw-away server\n"
                    f"unix_socket_directories = '{self.socket_dir}'\n"
                    f"listen_addresses = '{self.host}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = 200\n"
                    "log_min_messages = warning\nlog_min_error_statement = error\n"
                )
        for attempt in range(3):
            self.port = _free_port(self.host)
            proc = self._as_postgres(
                str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                "-o", f"-p {self.port}", "-w", "-t", "30", "start", check=False,
            )
            if proc.returncode == 0:
                break
            if "Address already in use" not in self.tail_logs() or attempt == 2:
                raise PostgresError(f"pg_ctl start failed (rc={proc.returncode}):\n{self.tail_logs()}")
        with self.connect("postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.role,)).fetchone()
            if not exists:
                conn.execute(f'CREATE ROLE "{self.role}" LOGIN')
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}" OWNER "{self.role}"')
        self.timings["start"] = time.monotonic() - t0

    def stop(self) -> None:
        t0 = time.monotonic()
        if (self.data_dir / "postmaster.pid").exists():
            self._as_postgres(
                str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop",
                check=False,
            )
        self.timings["stop"] = time.monotonic() - t0

    @property
    def running(self) -> bool:
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        return Path(f"/proc/{pid}").exists()

    def new_database(self, name: str) -> str:
        """Create an empty database *name* (owned by role ``escalations``) and return its URL."""
        if not _NAME.match(name):
            raise ValueError(f"database name must match {_NAME.pattern}: {name!r}")
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{self.role}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"bad database name: {name!r}")
        with self.connect("postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def tail_logs(self, lines: int = 60) -> str:
        parts = []
        for path in (self.base / "log" / "pg_ctl.log", self.log_file):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"==> {path} <==\n" + "\n".join(text))
        return "\n\n".join(parts)

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)
