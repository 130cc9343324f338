"""A real, private mail stack for integration tests: Dovecot + Postfix on loopback.

* Dovecot 2.3: IMAPS, IMAP (+STARTTLS), LMTP, and a SASL auth listener for Postfix.
  Virtual users from a passwd-file, Maildir under ``base/mail/<domain>/<local>/Maildir``.
* Postfix 3.x: one smtpd on loopback with STARTTLS and AUTH (PLAIN/LOGIN via Dovecot SASL,
  only after STARTTLS), delivering every configured domain to Dovecot over LMTP. Nothing
  can leave the machine: loopback-only, no relayhost, ``default_transport``/``relay_transport``
  are ``error:``, and recipients outside the configured domains are refused at RCPT time.
* TLS with a throw-away CA made per run (``testbed.pki``); clients verify against
  ``ca_file`` with hostname checking on.

Everything (configs, keys, mail, queue, pid files, logs) lives under ``base``; the only
change outside it is one entry in ``alternate_config_directories`` of /etc/postfix/main.cf,
which Postfix requires for ``postfix -c DIR`` and which ``stop()`` removes again.

Needs root (Postfix refuses to start otherwise) and the Debian packages installed by
``scripts/install-system-packages.sh``. ``base`` must be traversable by the ``vmail`` and
``postfix`` users: use ``tempfile.mkdtemp(dir="/tmp")`` + chmod 755, not pytest's
``tmp_path`` (its parent is 0700).

Daemons are started with stdin/stdout/stderr detached (``/dev/null`` / a log file): they
daemonise and keep inherited descriptors, so a pipe to them would never reach EOF.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from .pki import Pki, make_test_pki

__all__ = ["MailStack", "MailStackError", "DovecotOAuth2", "missing_requirements", "INSTALL_HINT"]

INSTALL_HINT = "run scripts/install-system-packages.sh as root"

DOVECOT = "/usr/sbin/dovecot"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTSUPER = "/usr/sbin/postsuper"
POSTFIX_DEFAULT_MAIN_CF = Path("/etc/postfix/main.cf")
POSTFIX_DAEMON_DIR = Path("/usr/lib/postfix/sbin")
MAIL_USER = "vmail"
# Serialises edits of /etc/postfix/main.cf between parallel test runs on one machine.
_MAIN_CF_LOCK = Path(tempfile.gettempdir()) / "escalations-postfix-main-cf.lock"
STOP_TIMEOUT = 10.0


class MailStackError(RuntimeError):
    pass


@dataclass(frozen=True)
class DovecotOAuth2:
    """Turns on SASL XOAUTH2/OAUTHBEARER (IMAP, and SMTP through Dovecot SASL) next to the
    passwords: Dovecot's oauth2 passdb asks *introspection_url* (RFC 7662, POST) about each
    bearer token and signs in as the ``username`` it answers, if ``active`` is true."""

    introspection_url: str
    ca_file: Path | None = None  # when the endpoint is https with a private CA


def missing_requirements() -> list[str]:
    """What prevents a MailStack from starting on this machine (empty list: nothing)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (Postfix refuses to start as another user)")
    for path in (DOVECOT, POSTFIX, POSTCONF, POSTSUPER, str(POSTFIX_DAEMON_DIR / "master")):
        if not os.access(path, os.X_OK):
            problems.append(f"{path} is missing")
    if not Path("/usr/lib/dovecot/lmtp").exists():
        problems.append("/usr/lib/dovecot/lmtp is missing (package dovecot-lmtpd)")
    if not Path("/usr/lib/dovecot/imap").exists():
        problems.append("/usr/lib/dovecot/imap is missing (package dovecot-imapd)")
    return problems


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """*n* distinct ports the kernel reports free right now (bind to port 0, then release)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise MailStackError(f"nothing accepts connections on {host}:{port} after {timeout} s")
            time.sleep(0.01)


def _alive(pid: int | None) -> bool:
    """True while *pid* exists and is not a zombie (PID 1 may be slow to reap orphans)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3]
    return state not in (b"Z", b"X")


def _session_members(sid: int) -> list[int]:
    """Live processes of session *sid*; both masters setsid() when they daemonise."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        # fields: state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):
            pids.append(int(entry))
    return pids


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().split()
    except OSError:
        return None
    return int(text[0]) if text and text[0].isdigit() else None


def _ensure_mail_user() -> tuple[int, int, str]:
    """uid, gid, group of the account owning the mail (Dovecot refuses uid 0 for mail)."""
    try:
        pw = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", MAIL_USER],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )
        pw = pwd.getpwnam(MAIL_USER)  # a parallel run may have won the race: fine either way
    return pw.pw_uid, pw.pw_gid, grp.getgrgid(pw.pw_gid).gr_name


@contextlib.contextmanager
def _main_cf_lock() -> Iterator[None]:
    with open(_MAIN_CF_LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _split_list(value: str) -> list[str]:
    return [v for v in value.replace(",", " ").split() if v]


class MailStack:
    """Dovecot + Postfix under *base*. ``with MailStack(...) as ms:`` starts and stops it."""

    host = "127.0.0.1"

    def __init__(
        self,
        base: Path,
        users: Iterable[str],
        password: str = "secret",
        domains: Iterable[str] | None = None,
        oauth2: DovecotOAuth2 | None = None,
    ) -> None:
        self.base = Path(base)
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
        self.etc = self.base / "etc"
        self.log_dir = self.base / "log"
        self.mail_dir = self.base / "mail"
        self.postfix_dir = self.base / "postfix"
        self.postfix_etc = self.postfix_dir / "etc"
        self.postfix_spool = self.postfix_dir / "spool"
        self.dovecot_conf = self.etc / "dovecot.conf"
        self.dovecot_run = self.base / "run" / "dovecot"
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
        return _read_pid(self.dovecot_run / "master.pid")

    @property
    def postfix_pid(self) -> int | None:
        return _read_pid(self.postfix_spool / "pid" / "master.pid")

    @property
    def dovecot_running(self) -> bool:
        return _alive(self.dovecot_pid)

    @property
    def postfix_running(self) -> bool:
        return _alive(self.postfix_pid)

    def maildir(self, user: str) -> Path:
        local, domain = user.split("@", 1)
        return self.mail_dir / domain.lower() / local / "Maildir"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the test CA; hostname checking on."""
        return ssl.create_default_context(cafile=str(self.ca_file))

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
        t0 = time.monotonic()
        try:
            self._stop_all()
        finally:
            self._unregister_postfix_config()
        self.timings["stop"] = time.monotonic() - t0

    def _stop_all(self) -> None:
        pending = []
        if self.postfix_running:
            pending.append(("postfix", self.postfix_pid))
        if self.dovecot_running:
            pending.append(("dovecot", self.dovecot_pid))
        for _, pid in pending:  # SIGTERM both at once, then wait for both
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        self._wait_gone(pending)

    def _wait_gone(self, pending: list[tuple[str, int]]) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(_alive(pid) for _, pid in pending) and time.monotonic() < deadline:
            time.sleep(0.02)
        for name, pid in pending:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            # Children normally exit with their master; make sure none outlives it.
            deadline = time.monotonic() + 2
            while _session_members(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            for child in _session_members(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)

    def start_dovecot(self) -> None:
        if self.dovecot_running:
            return
        previous = self.dovecot_pid
        with open(self.log_dir / "dovecot-start.log", "ab") as log:
            rc = subprocess.run(
                [DOVECOT, "-c", str(self.dovecot_conf)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=False,
            ).returncode
        if rc != 0:
            raise MailStackError(f"dovecot failed to start (rc={rc}):\n{self.tail_logs(40)}")
        try:
            for port in (self.imaps_port, self.imap_port, self.lmtp_port, self.auth_port):
                wait_port(self.host, port, 10)
            # The listeners exist before the daemonised master has written its new pid file.
            self._wait_pid(lambda: self.dovecot_pid, previous, "dovecot")
        except MailStackError as e:
            raise MailStackError(f"{e}\n{self.tail_logs(40)}") from None

    @staticmethod
    def _wait_pid(read, previous: int | None, name: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pid = read()
            if pid and pid != previous and _alive(pid):
                return
            if time.monotonic() > deadline:
                raise MailStackError(f"{name} master did not write a new pid file within {timeout} s")
            time.sleep(0.01)

    def stop_dovecot(self) -> None:
        pid = self.dovecot_pid
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            self._wait_gone([("dovecot", pid)])

    def restart_dovecot(self) -> None:
        """Stop Dovecot (every IMAP session drops) and start it again on the same ports."""
        self.stop_dovecot()
        self.start_dovecot()

    def start_postfix(self) -> None:
        if self.postfix_running:
            return
        previous = self.postfix_pid
        self._register_postfix_config()
        if self._make_queue_dirs():
            # postfix-script skips its integrity check (post-install create-missing + a scan
            # of the queue, ~2 s of postconf calls) once; the queue was made just above.
            (self.postfix_spool / "quick-start").touch()
        with open(self.log_dir / "postfix-start.log", "ab") as log:
            rc = subprocess.run(
                [POSTFIX, "-c", str(self.postfix_etc), "start"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, check=False,
            ).returncode
        if rc != 0:
            # postfix writes its reasons to stderr only on a TTY, else to syslog or maillog_file.
            raise MailStackError(f"postfix failed to start (rc={rc}):\n{self.tail_logs(40)}")
        try:
            wait_port(self.host, self.smtp_port, 10)
            self._wait_pid(lambda: self.postfix_pid, previous, "postfix")
        except MailStackError as e:
            raise MailStackError(f"{e}\n{self.tail_logs(40)}") from None

    def _make_queue_dirs(self) -> bool:
        """Create the queue and data directories as /etc/postfix/postfix-files specifies
        (what ``post-install create-missing`` would do). False if that file is unusable,
        in which case ``postfix start`` runs its full check and creates them itself."""
        try:
            lines = Path("/etc/postfix/postfix-files").read_text().splitlines()
            pf = pwd.getpwnam("postfix")
            postdrop = grp.getgrnam("postdrop").gr_gid
        except (OSError, KeyError):
            return False
        roots = {"$queue_directory": self.postfix_spool, "$data_directory": self.postfix_dir / "data"}
        made = 0
        for line in lines:
            fields = line.split(":")
            if len(fields) < 5 or fields[1] != "d":
                continue
            root, _, rest = fields[0].partition("/")
            if root not in roots:
                continue
            path = roots[root] / rest if rest else roots[root]
            owner = {"root": 0, "$mail_owner": pf.pw_uid}.get(fields[2])
            group = {"-": 0, "root": 0, "$setgid_group": postdrop}.get(fields[3])
            if owner is None or group is None:
                return False
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, owner, group)
            os.chmod(path, int(fields[4], 8))
            made += 1
        return made >= 10

    def stop_postfix(self) -> None:
        """SIGTERM the Postfix master and wait for it; queued mail stays in the queue."""
        pid = self.postfix_pid
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            self._wait_gone([("postfix", pid)])

    # ------------------------------------------------------------------ configuration
    def _configure(self, new_ports: bool) -> None:
        base = self.base
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)
        for parent in base.resolve().parents:
            if not os.stat(parent).st_mode & 0o001:
                raise MailStackError(
                    f"{parent} is not traversable by other users; the vmail and postfix users must reach "
                    f"{base}. Use tempfile.mkdtemp(dir='/tmp') and chmod 0755, not pytest's tmp_path."
                )
        uid, gid, group = _ensure_mail_user()
        if new_ports:
            (self.imaps_port, self.imap_port, self.smtp_port, self.lmtp_port,
             self.auth_port) = free_ports(5, self.host)
        for d in (self.etc, self.log_dir, self.mail_dir, self.dovecot_run.parent, base / "state" / "dovecot",
                  self.postfix_etc, self.postfix_spool, self.postfix_dir / "data"):
            d.mkdir(parents=True, exist_ok=True)
        if self.pki is None:
            self.pki = make_test_pki(base / "tls")
        self._write_dovecot_config(uid, gid, group)
        self._write_postfix_config()
        for d in (self.mail_dir, base / "state", self.log_dir):
            os.chown(d, uid, gid)
        os.chown(self.postfix_spool, 0, 0)
        postfix_pw = pwd.getpwnam("postfix")
        os.chown(self.postfix_dir / "data", postfix_pw.pw_uid, postfix_pw.pw_gid)
        self._configured = True

    def _write_dovecot_config(self, uid: int, gid: int, group: str) -> None:
        b = self.base
        postmaster = f"postmaster@{self.users[0].split('@', 1)[1]}"
        # With oauth2 on, each passdb answers only its own mechanisms (a token is no password).
        password_mechanisms = "\n  mechanisms = plain login" if self.oauth2 else ""
        # ...so LMTP's user lookup (no mechanism) finds no passdb; Postfix already checked the user.
        all_users = " allow_all_users=yes" if self.oauth2 else ""
        conf = f"""\
# Private Dovecot instance for the escalations integration tests (generated; do not edit).
instance_name = escalations-test-{b.name}
base_dir = {self.dovecot_run}
state_dir = {b}/state/dovecot
protocols = imap lmtp
listen = {self.host}
log_path = {self.log_dir}/dovecot.log
info_log_path = {self.log_dir}/dovecot.log
auth_verbose = yes
auth_verbose_passwords = no
# Wrong-password tests must not slow the suite: no 2 s failure delay, and no anvil
# "auth penalty" (it would delay every later login from 127.0.0.1 by 2-15 s, right or
# wrong; mode 0 on its socket is Dovecot's documented way to disable it, see below).
auth_failure_delay = 0

ssl = yes
ssl_cert = <{self.pki.server_cert}
ssl_key = <{self.pki.server_key}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login{" xoauth2 oauthbearer" if self.oauth2 else ""}
# Loopback counts as "secured" for Dovecot, so plaintext LOGIN would be accepted there
# without TLS; clients of this stack use IMAPS or STARTTLS anyway.
disable_plaintext_auth = yes

default_internal_user = {MAIL_USER}
default_internal_group = {group}
default_login_user = {MAIL_USER}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = 0
mail_location = maildir:~/Maildir
mail_fsync = optimized
# The service under test creates its own folders (Processed, Quarantine): no autocreate.
namespace inbox {{
  inbox = yes
  separator = /
}}

{self._oauth2_passdb()}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu {self.etc}/users{password_mechanisms}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.mail_dir}/%Ld/%Ln{all_users}
}}

protocol imap {{
  # Tests open many sessions per user (daemon + helpers); the default 10 is too few.
  mail_max_userip_connections = 100
}}
protocol lmtp {{
  postmaster_address = {postmaster}
}}

service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {self.host}
    port = {self.lmtp_port}
  }}
}}
service auth {{
  # SASL for Postfix smtpd (smtpd_sasl_type = dovecot)
  inet_listener auth-postfix {{
    address = {self.host}
    port = {self.auth_port}
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  chroot =
}}
"""
        self.dovecot_conf.write_text(conf)
        users_file = self.etc / "users"
        users_file.write_text("".join(f"{u}:{{PLAIN}}{self.password}\n" for u in self.users))
        os.chown(users_file, 0, gid)
        os.chmod(users_file, 0o640)

    def _oauth2_passdb(self) -> str:
        """Dovecot's oauth2 passdb for the bearer-token mechanisms (none without ``oauth2``)."""
        if self.oauth2 is None:
            return ""
        ext = self.etc / "dovecot-oauth2.conf.ext"
        ca = f"tls_ca_cert_file = {self.oauth2.ca_file}\n" if self.oauth2.ca_file else ""
        ext.write_text(
            f"introspection_url = {self.oauth2.introspection_url}\nintrospection_mode = post\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
            f"timeout_msecs = 10000\n{ca}"
        )
        return f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {ext}\n}}\n"

    def _write_postfix_config(self) -> None:
        etc, spool = self.postfix_etc, self.postfix_spool
        first_domain = self.users[0].split("@", 1)[1].lower()
        (etc / "vmailbox").write_text("".join(f"{u.lower()} OK\n" for u in self.users))
        main_cf = f"""\
# Private Postfix instance for the escalations integration tests (generated; do not edit).
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {spool}
data_directory = {self.postfix_dir}/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = {POSTFIX_DAEMON_DIR}
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.log_dir}/postfix.log
# maillog_file outside /var is refused (silently, rc=1) unless its prefix is listed here
maillog_file_prefixes = /var, /dev/stdout, {self.log_dir}
syslog_name = postfix-escalations-test-{self.base.name}
myhostname = mail.{first_domain}
mydomain = {first_domain}
myorigin = $myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
biff = no
append_dot_mydomain = no

# Nothing ever leaves the machine.
relayhost =
relay_domains =
default_transport = error:outbound mail is disabled in the test mail stack
relay_transport = error:outbound mail is disabled in the test mail stack
local_transport = error:local delivery is disabled in the test mail stack
alias_maps =
alias_database =
local_recipient_maps =

virtual_mailbox_domains = {", ".join(self.domains)}
virtual_mailbox_maps = texthash:{etc}/vmailbox
virtual_transport = lmtp:inet:{self.host}:{self.lmtp_port}

smtpd_banner = $myhostname ESMTP
message_size_limit = 52428800
# Tests count on prompt replies and quick retries after a simulated Dovecot outage.
smtpd_error_sleep_time = 0
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s

smtpd_tls_cert_file = {self.pki.server_cert}
smtpd_tls_key_file = {self.pki.server_key}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:{self.host}:{self.auth_port}
# Authenticated or not (and loopback is NOT trusted), recipients must be in
# virtual_mailbox_domains: relaying anywhere else is refused at RCPT time.
smtpd_relay_restrictions = reject_unauth_destination
"""
        (etc / "main.cf").write_text(main_cf)
        master_cf = f"""\
# service type  private unpriv  chroot  wakeup  maxproc command
{self.host}:{self.smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
        (etc / "master.cf").write_text(master_cf)
        # Postfix sleeps (5 x 300 ms) to "let a file cool down" when it was modified within
        # the last second; that hits main.cf in every command and the texthash map in the
        # daemons. Backdate them: the files are complete, nobody is writing them.
        old = time.time() - 60
        for name in ("main.cf", "master.cf", "vmailbox"):
            os.utime(etc / name, (old, old))

    # /etc/postfix/main.cf: alternate_config_directories -----------------------------
    def _alternate_dirs(self) -> list[str]:
        out = subprocess.run(
            [POSTCONF, "-c", "/etc/postfix", "-h", "alternate_config_directories"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
        ).stdout
        return _split_list(out)

    def _set_alternate_dirs(self, dirs: list[str]) -> None:
        subprocess.run(
            [POSTCONF, "-c", "/etc/postfix", "-e", f"alternate_config_directories = {', '.join(dirs)}"],
            stdin=subprocess.DEVNULL, capture_output=True, check=True,
        )

    def _register_postfix_config(self) -> None:
        mine = str(self.postfix_etc)
        with _main_cf_lock():
            if not POSTFIX_DEFAULT_MAIN_CF.exists():
                POSTFIX_DEFAULT_MAIN_CF.touch()
            current = self._alternate_dirs()
            # Drop entries of earlier runs whose directory is gone (killed runs never unregister).
            kept = [d for d in current if Path(d).is_dir()]
            if mine not in kept:
                kept.append(mine)
            if kept != current:
                self._set_alternate_dirs(kept)
                self._backdate_main_cf()

    def _unregister_postfix_config(self) -> None:
        if not POSTFIX_DEFAULT_MAIN_CF.exists():
            return
        mine = str(self.postfix_etc)
        with _main_cf_lock():
            current = self._alternate_dirs()
            if mine in current:
                self._set_alternate_dirs([d for d in current if d != mine])
                self._backdate_main_cf()

    @staticmethod
    def _backdate_main_cf() -> None:
        # Every postfix command reads /etc/postfix/main.cf and pauses up to 1.5 s while it is
        # less than a second old ("let it cool down"). We hold the lock and just wrote it.
        st = POSTFIX_DEFAULT_MAIN_CF.stat()
        when = min(st.st_mtime, time.time() - 2)
        os.utime(POSTFIX_DEFAULT_MAIN_CF, (st.st_atime, when))

    # ------------------------------------------------------------------ client helpers
    def imap(self, user: str, *, starttls: bool = False, password: str | None = None,
             timeout: float = 30) -> IMAPClient:
        """An IMAPClient logged in as *user*: IMAPS, or plain IMAP + STARTTLS if *starttls*.
        The certificate is verified against the test CA, host name included."""
        ctx = self.ssl_context()
        if starttls:
            client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=timeout)
            client.starttls(ctx)
        else:
            client = IMAPClient(self.host, port=self.imaps_port, ssl=True, ssl_context=ctx, timeout=timeout)
        client.login(user, self.password if password is None else password)
        return client

    @contextlib.contextmanager
    def _session(self, user: str) -> Iterator[IMAPClient]:
        client = self.imap(user)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def smtp(self, auth_user: str | None = None, *, password: str | None = None,
             timeout: float = 30) -> smtplib.SMTP:
        """An smtplib.SMTP connected to Postfix, after STARTTLS (verified) and, if *auth_user*
        is given, AUTH as that user."""
        client = smtplib.SMTP(self.host, self.smtp_port, local_hostname="client.localhost", timeout=timeout)
        try:
            client.ehlo()
            client.starttls(context=self.ssl_context())
            client.ehlo()
            if auth_user is not None:
                client.login(auth_user, self.password if password is None else password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, raw: bytes, mail_from: str, rcpt_to: list[str], auth_user: str | None = None,
             *, authenticate: bool = True) -> dict:
        """Submit *raw* through Postfix with STARTTLS and AUTH as *auth_user* (default:
        *mail_from*); ``authenticate=False`` sends like an outside MX would. Returns
        smtplib's dict of refused recipients (raises if all were refused)."""
        if isinstance(rcpt_to, str):
            rcpt_to = [rcpt_to]
        client = self.smtp((auth_user or mail_from) if authenticate else None)
        try:
            return client.sendmail(mail_from, rcpt_to, raw)
        finally:
            with contextlib.suppress(Exception):
                client.quit()

    @staticmethod
    def _fetch_all(client: IMAPClient) -> list[bytes]:
        uids = sorted(client.search("ALL"))
        if not uids:
            return []
        out = []
        for i in range(0, len(uids), 500):
            batch = uids[i : i + 500]
            data = client.fetch(batch, ["BODY.PEEK[]"])
            out.extend(data[uid][b"BODY[]"] for uid in batch if uid in data)
        return out

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Every message in *folder* of *user*, raw, in UID order (does not set \\Seen)."""
        with self._session(user) as client:
            client.select_folder(folder, readonly=True)
            return self._fetch_all(client)

    def wait_for(self, user: str, count: int, folder: str = "INBOX", timeout: float = 20) -> list[bytes]:
        """Poll until *folder* of *user* holds at least *count* messages; return them all.
        The folder may not exist yet (the service under test creates its own)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        with self._session(user) as client:
            while True:
                try:
                    info = client.select_folder(folder, readonly=True)
                    if info[b"EXISTS"] >= count:
                        return self._fetch_all(client)
                    last_error = None
                except IMAPClient.Error as e:  # e.g. folder not created yet
                    last_error = e
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            seen: list[bytes] = []
            with contextlib.suppress(IMAPClient.Error):
                client.select_folder(folder, readonly=True)
                seen = self._fetch_all(client)
            all_folders = [f[2] for f in client.list_folders()]
        summary = "\n".join(f"  - {_summary(m)}" for m in seen) or "  (none)"
        raise AssertionError(
            f"expected at least {count} message(s) in {user} {folder} within {timeout} s, saw {len(seen)}"
            + (f" (last error: {last_error})" if last_error else "")
            + f":\n{summary}\nfolders of {user}: {all_folders}\nPostfix queue: {self.queue_size()} message(s)"
        )

    def folders(self, user: str) -> list[str]:
        with self._session(user) as client:
            return sorted(f[2] for f in client.list_folders())

    def clear(self, user: str | None = None) -> None:
        """Empty every folder of *user* (default: all users) and delete all folders but INBOX.
        With no *user*, also deletes everything still queued in Postfix, so mail in flight
        from one test cannot land in the next."""
        if user is None and self.postfix_spool.is_dir() and (self.postfix_spool / "active").is_dir():
            subprocess.run(
                [POSTSUPER, "-c", str(self.postfix_etc), "-d", "ALL"],
                stdin=subprocess.DEVNULL, capture_output=True, check=False,
            )
        for u in [user] if user else self.users:
            with self._session(u) as client:
                names = [f[2] for f in client.list_folders()]
                delim = "/"
                # children before parents
                for name in sorted((n for n in names if n.upper() != "INBOX"),
                                   key=lambda n: n.count(delim), reverse=True):
                    with contextlib.suppress(IMAPClient.Error):
                        client.unsubscribe_folder(name)
                    client.delete_folder(name)
                client.select_folder("INBOX")
                uids = client.search("ALL")
                if uids:
                    client.add_flags(uids, [b"\\Deleted"], silent=True)
                    client.expunge()
                client.close_folder()
                for name in client.list_sub_folders():  # stale subscriptions
                    if name[2].upper() != "INBOX":
                        with contextlib.suppress(IMAPClient.Error):
                            client.unsubscribe_folder(name[2])

    def queue_size(self) -> int:
        """Messages in Postfix's queue (incoming, active, deferred, hold, maildrop)."""
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            d = self.postfix_spool / sub
            if d.is_dir():
                n += sum(len(files) for _, _, files in os.walk(d))
        return n

    # ------------------------------------------------------------------ diagnostics
    def tail_logs(self, lines: int = 100) -> str:
        """The last *lines* lines of every log under base/log, for a failing test's report."""
        parts = []
        if self.log_dir.is_dir():
            for path in sorted(self.log_dir.iterdir()):
                if not path.is_file():
                    continue
                try:
                    text = path.read_text(errors="replace").splitlines()
                except OSError as e:
                    text = [f"<unreadable: {e}>"]
                parts.append(f"==> {path} <==\n" + "\n".join(text[-lines:]))
        return "\n\n".join(parts) or f"(no logs in {self.log_dir})"

    def remove(self) -> None:
        """Delete *base* (after ``stop()``)."""
        shutil.rmtree(self.base, ignore_errors=True)


def _summary(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    fields = {}
    for line in head.splitlines():
        for name in (b"subject", b"from", b"to"):
            if line.lower().startswith(name + b":"):
                fields[name.decode()] = line.split(b":", 1)[1].strip().decode(errors="replace")
    return ", ".join(f"{k}: {v}" for k, v in fields.items()) or repr(raw[:80])
