"""``MailStack``: a private Dovecot + Postfix under one directory, configured, started and
stopped (see the package's docstring for what it offers and needs)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from testbed.mailstack.client import MailClient
from testbed.mailstack.dovecot_conf import DovecotOAuth2, write_dovecot_config
from testbed.mailstack.layout import Layout, Ports
from testbed.mailstack.postfix_conf import make_queue_dirs, write_postfix_config
from testbed.mailstack.processes import (alive, free_ports, read_pid, session_members, stop_masters, title,
                                         wait_new_pid, wait_port)
from testbed.mailstack.requirements import (DOVECOT, INSTALL_HINT, POSTFIX, MailStackError, ensure_mail_user,
                                            missing_requirements)
from testbed.mailstack.system_postfix import register, unregister
from testbed.pki import Pki, make_test_pki


class MailStack(MailClient):
    """Dovecot + Postfix under *base*. ``with MailStack(...) as ms:`` starts and stops it."""

    def __init__(
        self,
        base: Path,
        users: Iterable[str],
        password: str = "secret",
        domains: Iterable[str] | None = None,
        oauth2: DovecotOAuth2 | None = None,
    ) -> None:
        self.base = Path(base)
        self.layout = Layout(self.base)
        self.users = [u.strip() for u in users]
        if not self.users or any(u.count("@") != 1 for u in self.users):
            raise ValueError(f"users must be full addresses: {self.users!r}")
        self.password = password
        user_domains = {u.split("@", 1)[1].lower() for u in self.users}
        self.domains = sorted(user_domains | {d.lower() for d in (domains or ())})
        self.oauth2 = oauth2
        self.imaps_port: int | None = None
        self.imap_port: int | None = None
        self.smtp_port: int | None = None
        self.lmtp_port: int | None = None
        self.auth_port: int | None = None  # Dovecot SASL for Postfix
        self.pki: Pki | None = None
        self._configured = False
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ properties
    @property
    def ca_file(self) -> Path:
        if self.pki is None:
            raise MailStackError("the stack has not been started (no CA yet)")
        return self.pki.ca_cert

    @property
    def dovecot_pid(self) -> int | None:
        return read_pid(self.layout.dovecot_run / "master.pid")

    @property
    def postfix_pid(self) -> int | None:
        return read_pid(self.layout.postfix_spool / "pid" / "master.pid")

    @property
    def dovecot_running(self) -> bool:
        return alive(self.dovecot_pid)

    @property
    def postfix_running(self) -> bool:
        return alive(self.postfix_pid)

    def maildir(self, user: str) -> Path:
        return self.layout.maildir(user)

    def idle_sessions(self, user: str) -> int:
        """How many IMAP sessions of *user* are in IDLE now, read from the imap processes'
        titles (``[user 127.0.0.1 IDLE]``): a test waits for a client to be back in IDLE with
        ``wait_until(lambda: stack.idle_sessions(user) > 0, timeout)``."""
        pid = self.dovecot_pid
        if not alive(pid):
            return 0
        wanted = f"[{user} {self.host} IDLE]"
        return sum(1 for p in session_members(pid) if title(p).endswith(wanted))

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "MailStack":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        problems = missing_requirements()
        if problems:
            raise MailStackError("cannot start the mail stack: " + "; ".join(problems) + f" ({INSTALL_HINT})")
        t0 = time.monotonic()
        attempts = 3
        for attempt in range(1, attempts + 1):
            if not self._configured or attempt > 1:
                self._configure(new_ports=attempt > 1 or self.imaps_port is None)
            try:
                self.start_dovecot()
                self.start_postfix()
                break
            except MailStackError:
                # Another process may have taken one of our ports between free_ports() and bind().
                in_use = "Address already in use" in self.tail_logs(40)
                self._stop_all()
                if not in_use or attempt == attempts:
                    raise
        self.timings["start"] = time.monotonic() - t0

    def stop(self) -> None:
        """Stop both servers and remove this stack's entry from /etc/postfix/main.cf."""
        t0 = time.monotonic()
        try:
            self._stop_all()
        finally:
            unregister(self.layout.postfix_etc)
        self.timings["stop"] = time.monotonic() - t0

    def _stop_all(self) -> None:
        pending = []
        if self.postfix_running:
            pending.append(self.postfix_pid)
        if self.dovecot_running:
            pending.append(self.dovecot_pid)
        stop_masters(pending)

    def start_dovecot(self) -> None:
        if self.dovecot_running:
            return
        previous = self.dovecot_pid
        with open(self.layout.log_dir / "dovecot-start.log", "ab") as log:
            rc = subprocess.run(
                [DOVECOT, "-c", str(self.layout.dovecot_conf)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=False,
            ).returncode
        if rc != 0:
            raise MailStackError(f"dovecot failed to start (rc={rc}):\n{self.tail_logs(40)}")
        try:
            for port in (self.imaps_port, self.imap_port, self.lmtp_port, self.auth_port):
                wait_port(self.host, port, 10)
            wait_new_pid(lambda: self.dovecot_pid, previous, "dovecot")
        except MailStackError as e:
            raise MailStackError(f"{e}\n{self.tail_logs(40)}") from None

    def stop_dovecot(self) -> None:
        pid = self.dovecot_pid
        if alive(pid):
            stop_masters([pid])

    def restart_dovecot(self) -> None:
        """Stop Dovecot (every IMAP session drops) and start it again on the same ports."""
        self.stop_dovecot()
        self.start_dovecot()

    def start_postfix(self) -> None:
        if self.postfix_running:
            return
        previous = self.postfix_pid
        register(self.layout.postfix_etc)
        if make_queue_dirs(self.layout):
            # postfix-script skips its integrity check (post-install create-missing + a scan
            # of the queue, ~2 s of postconf calls) once; the queue was made just above.
            (self.layout.postfix_spool / "quick-start").touch()
        with open(self.layout.log_dir / "postfix-start.log", "ab") as log:
            rc = subprocess.run(
                [POSTFIX, "-c", str(self.layout.postfix_etc), "start"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=False,
            ).returncode
        if rc != 0:
            # postfix writes its reasons to stderr only on a TTY, else to syslog or maillog_file.
            raise MailStackError(f"postfix failed to start (rc={rc}):\n{self.tail_logs(40)}")
        try:
            wait_port(self.host, self.smtp_port, 10)
            wait_new_pid(lambda: self.postfix_pid, previous, "postfix")
        except MailStackError as e:
            raise MailStackError(f"{e}\n{self.tail_logs(40)}") from None

    def stop_postfix(self) -> None:
        """SIGTERM the Postfix master and wait for it; queued mail stays in the queue."""
        pid = self.postfix_pid
        if alive(pid):
            stop_masters([pid])

    # ------------------------------------------------------------------ configuration
    def _configure(self, new_ports: bool) -> None:
        base, layout = self.base, self.layout
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)
        for parent in base.resolve().parents:
            if not os.stat(parent).st_mode & 0o001:
                raise MailStackError(
                    f"{parent} is not traversable by other users; the vmail and postfix users must reach "
                    f"{base}. Use tempfile.mkdtemp(dir='/tmp') and chmod 0755, not pytest's tmp_path."
                )
        owner = ensure_mail_user()
        if new_ports:
            (self.imaps_port, self.imap_port, self.smtp_port, self.lmtp_port,
             self.auth_port) = free_ports(5, self.host)
        for d in (layout.etc, layout.log_dir, layout.mail_dir, layout.dovecot_run.parent, layout.dovecot_state,
                  layout.postfix_etc, layout.postfix_spool, layout.postfix_data):
            d.mkdir(parents=True, exist_ok=True)
        if self.pki is None:
            self.pki = make_test_pki(base / "tls")
        ports = Ports(self.imaps_port, self.imap_port, self.smtp_port, self.lmtp_port, self.auth_port)
        write_dovecot_config(layout, ports, self.pki, owner, self.users, self.password, self.oauth2)
        write_postfix_config(layout, ports, self.pki, self.users, self.domains)
        for d in (layout.mail_dir, base / "state", layout.log_dir):
            os.chown(d, owner.uid, owner.gid)
        os.chown(layout.postfix_spool, 0, 0)
        postfix_pw = pwd.getpwnam("postfix")
        os.chown(layout.postfix_data, postfix_pw.pw_uid, postfix_pw.pw_gid)
        self._configured = True

    # ------------------------------------------------------------------ diagnostics
    def tail_logs(self, lines: int = 100) -> str:
        """The last *lines* lines of every log under base/log, for a failing test's report."""
        parts = []
        log_dir = self.layout.log_dir
        if log_dir.is_dir():
            for path in sorted(log_dir.iterdir()):
                if not path.is_file():
                    continue
                try:
                    text = path.read_text(errors="replace").splitlines()
                except OSError as e:
                    text = [f"<unreadable: {e}>"]
                parts.append(f"==> {path} <==\n" + "\n".join(text[-lines:]))
        return "\n\n".join(parts) or f"(no logs in {log_dir})"

    def remove(self) -> None:
        """Delete *base* (after ``stop()``)."""
        shutil.rmtree(self.base, ignore_errors=True)
