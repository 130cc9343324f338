"""Shared helpers for the benchmarks and the fault tests: the service as a real daemon
process against a real Dovecot + Postfix (testbed.mailstack), and ways to count what
it did without going through the service.

Used by bench/bench_*.py and tests/integration/test_faults.py. Counting reads the Maildirs
under the stack's base directory and the SQLite file directly: cheap, and independent of
the code under test.
"""
from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from email.parser import BytesHeaderParser
from email.utils import make_msgid
from pathlib import Path
from typing import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from testbed.mailstack import MailStack  # noqa: E402
from testbed.wait import wait_until  # noqa: E402,F401  (re-exported for the benches and fault tests)

INTAKE = "intake@partnership.example.test"
BUSINESS = "business@partnership.example.test"
WORKER = "worker@council.example.test"
OTHER = "other@health.example.test"
USERS = [INTAKE, BUSINESS, WORKER, "manager@council.example.test", OTHER,
         "othermanager@health.example.test", "floor@council.example.test"]
PASSWORD_ENV = "ESCALATIONS_TEST_MAIL_PASSWORD"

# The intake format of tests/conftest.py INTAKE_BODY, with the people and facts varied.
INTAKE_BODY = """Case reference: {client_ref}
About: {about}
Immediate risk: no
Category: {category}
Raised by: {raiser}, {raiser_role}, Example Council <{worker}>
My manager: {manager} <manager@council.example.test>
Disagreement with: {other}, {other_role}, Example Health <{other_email}>
Their manager: {other_manager} <othermanager@health.example.test>
Decision disputed: {decision}
Date of decision: {day:02d}/11/2026
Reasons: {reasons}
Outcome sought: {outcome}
"""

FIRST = ("Casey", "Robin", "Sam", "Alex", "Jordan", "Morgan", "Taylor", "Jamie", "Avery", "Riley", "Quinn",
         "Rowan", "Sasha", "Kit", "Ellis", "Harper")
LAST = ("Tester", "Sample", "Example", "Mock", "Fixture", "Dummy", "Placeholder", "Trial", "Pilot", "Draft")
WORKER_ROLES = ("Social Worker", "Family Support Worker", "Team Manager", "Early Help Practitioner")
OTHER_ROLES = ("Health Visitor", "School Nurse", "Community Paediatrician", "Midwife")
CATEGORIES = ("threshold / level of need", "roles and responsibilities", "communication and information sharing",
              "closing involvement", "provision of services")
DECISIONS = ("Referral for an early help assessment declined.", "Case closed without a home visit.",
             "Request for a joint visit refused.", "Health assessment not offered.")
REASONS = ("Repeated missed health appointments.", "A nursery report of concern.",
           "Neighbours reported shouting late at night.", "Attendance has fallen below 80 per cent.")
OUTCOMES = ("An early help assessment started.", "A strategy discussion.", "A joint home visit.",
            "The decision reviewed by a manager.")


def intake_mail(i: int, rng: random.Random | None = None) -> tuple[bytes, str]:
    """Intake number *i* from the worker: (raw bytes, its Message-ID). Invented people only."""
    rng = rng or random.Random(i)
    pick = rng.choice
    body = INTAKE_BODY.format(
        client_ref=f"CH-{i:05d}-{rng.randrange(100, 999)}", about=pick(("child", "adult")),
        category=pick(CATEGORIES), raiser=f"{pick(FIRST)} {pick(LAST)}", raiser_role=pick(WORKER_ROLES),
        worker=WORKER, manager=f"{pick(FIRST)} {pick(LAST)}", other=f"{pick(FIRST)} {pick(LAST)}",
        other_role=pick(OTHER_ROLES), other_email=OTHER, other_manager=f"{pick(FIRST)} {pick(LAST)}",
        decision=pick(DECISIONS), day=rng.randrange(1, 23), reasons=pick(REASONS), outcome=pick(OUTCOMES))
    mid = make_msgid(idstring=f"intake{i}", domain="council.example.test")
    raw = (f"From: Example Worker <{WORKER}>\r\nTo: {INTAKE}\r\n"
           f"Subject: Escalation: {pick(DECISIONS)[:-1].lower()} ({i})\r\n"
           f"Message-ID: {mid}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
           + body.replace("\n", "\r\n"))
    return raw.encode(), mid


def append_intakes(stack: MailStack, numbers: range, seed: int = 0, chunk: int = 100) -> list[str]:
    """Put intakes straight into the intake INBOX with MULTIAPPEND; returns their Message-IDs."""
    rng = random.Random(seed)
    mids, batch = [], []
    client = stack.imap(INTAKE)
    try:
        for i in numbers:
            raw, mid = intake_mail(i, random.Random(rng.random()))
            mids.append(mid)
            batch.append(raw)
            if len(batch) >= chunk:
                client.multiappend("INBOX", batch)
                batch = []
        if batch:
            client.multiappend("INBOX", batch)
    finally:
        with contextlib.suppress(Exception):
            client.logout()
    return mids


# --- the stack and the service's configuration ---------------------------------------------

@contextlib.contextmanager
def mail_stack(users: list[str] = USERS) -> Iterator[MailStack]:
    """A private Dovecot + Postfix in a temp dir, as the tests' session fixture makes it."""
    base = Path(tempfile.mkdtemp(prefix="escalations-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    stack = MailStack(base, users, password="secret")
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        stack.remove()


def write_config(stack: MailStack, directory: Path, *, log_level: str = "WARNING",
                 database_url: str | None = None) -> Path:
    """A config.toml pointing the service at *stack*: IMAPS in, STARTTLS + AUTH out; SQLite in
    *directory* unless *database_url* names another database."""
    directory.mkdir(parents=True, exist_ok=True)
    server = (f'host = "127.0.0.1"\nusername = "{INTAKE}"\npassword_env = "{PASSWORD_ENV}"\n'
              f'ca_file = "{stack.ca_file}"\n')
    text = f"""[partnership]
id = "bench"
address = "{INTAKE}"
business_support = ["{BUSINESS}"]
partner_domains = ["partnership.example.test", "council.example.test", "health.example.test"]

[database]
url = "{database_url or f'sqlite:///{directory / "cases.db"}'}"
url_env = ""

[inbox]
kind = "imap"
port = {stack.imaps_port}
security = "tls"
{server}
[outgoing]
kind = "smtp"
port = {stack.smtp_port}
security = "starttls"
{server}
[daemon]
heartbeat_file = "{directory / 'heartbeat.json'}"

[logging]
level = "{log_level}"
"""
    path = directory / "config.toml"
    path.write_text(text)
    return path


def service_env(stack: MailStack) -> dict[str, str]:
    env = dict(os.environ, **{PASSWORD_ENV: stack.password})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def cli(stack: MailStack, config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tracker.cli", "--config", str(config), *args]


def upgrade_db(stack: MailStack, config: Path) -> None:
    """`escalations db upgrade`, as a deployment runs it before the first start."""
    subprocess.run(cli(stack, config, "db", "upgrade"), env=service_env(stack), cwd=ROOT, check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


class DaemonProcess:
    """`escalations --config FILE run` as a child process; its output goes to a log file."""

    def __init__(self, stack: MailStack, config: Path):
        self.stack, self.config = stack, config
        self.log_path = config.parent / "daemon.log"
        self.proc: subprocess.Popen | None = None
        self.command = " ".join(cli(stack, config, "run"))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "DaemonProcess":
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(cli(self.stack, self.config, "run"), env=service_env(self.stack),
                                         cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind, as a power cut or the OOM killer would."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM and wait: the daemon finishes the message in hand and flushes the outbox."""
        if self.proc is None:
            return None
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no daemon log)"


# --- counting, independent of the service ---------------------------------------------------

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


def db_scalar(db: Path | str, sql: str, *params) -> int:
    """One number from the service's SQLite file (read-only; 0 while it does not exist yet),
    or from the database at a URL (PostgreSQL: `db` is then a str)."""
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
            return conn.execute(sql, params).fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def cases(db: Path | str) -> int:
    return db_scalar(db, "SELECT count(*) FROM \"case\"")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def command_line() -> str:
    """How this benchmark was started, to print next to its figures."""
    return " ".join(["python", *sys.argv])
