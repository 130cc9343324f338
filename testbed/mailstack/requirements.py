"""What a mail stack needs from the machine: root, the Debian packages' binaries, and the
system account that owns the mail."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from pathlib import Path
from typing import NamedTuple

INSTALL_HINT = "run scripts/install-system-packages.sh as root"

DOVECOT = "/usr/sbin/dovecot"
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTSUPER = "/usr/sbin/postsuper"
POSTFIX_DAEMON_DIR = Path("/usr/lib/postfix/sbin")
MAIL_USER = "vmail"


class MailStackError(RuntimeError):
    pass


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


class MailOwner(NamedTuple):
    """The account owning the mail (Dovecot refuses uid 0 for mail)."""

    uid: int
    gid: int
    group: str


def ensure_mail_user() -> MailOwner:
    """The mail account, made as a system user if it does not exist yet."""
    try:
        pw = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", MAIL_USER],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )
        pw = pwd.getpwnam(MAIL_USER)  # a parallel run may have won the race: fine either way
    return MailOwner(pw.pw_uid, pw.pw_gid, grp.getgrgid(pw.pw_gid).gr_name)
