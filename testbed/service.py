"""The service as a real daemon process against a private mail stack: the stack itself, a
config.toml pointing at it, the command line, and the daemon as a child process.

Used by bench/bench_*.py and tests/integration/test_faults.py, test_instances.py.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from testbed.dirs import server_dir
from testbed.intakes import BUSINESS, INTAKE, USERS
from testbed.mailstack import MailStack

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_ENV = "ESCALATIONS_TEST_MAIL_PASSWORD"


@contextlib.contextmanager
def mail_stack(users: list[str] = USERS) -> Iterator[MailStack]:
    """A private Dovecot + Postfix in a temp dir, as the tests' session fixture makes it."""
    stack = MailStack(server_dir("escalations-bench-"), users)
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
[security]
max_new_cases_per_sender_per_day = 1000000  # one worker sends the whole backlog
receiving_server = "none"  # the test Postfix writes no Authentication-Results; benches measure the workflow

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
