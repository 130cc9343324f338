"""Where everything of one mail stack lives under its base directory, and its ports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Layout:
    """The stack's directories and files, all under *base*."""

    base: Path

    @property
    def etc(self) -> Path:
        return self.base / "etc"

    @property
    def log_dir(self) -> Path:
        return self.base / "log"

    @property
    def mail_dir(self) -> Path:
        return self.base / "mail"

    @property
    def postfix_dir(self) -> Path:
        return self.base / "postfix"

    @property
    def postfix_etc(self) -> Path:
        return self.postfix_dir / "etc"

    @property
    def postfix_spool(self) -> Path:
        return self.postfix_dir / "spool"

    @property
    def postfix_data(self) -> Path:
        return self.postfix_dir / "data"

    @property
    def dovecot_conf(self) -> Path:
        return self.etc / "dovecot.conf"

    @property
    def dovecot_run(self) -> Path:
        return self.base / "run" / "dovecot"

    @property
    def dovecot_state(self) -> Path:
        return self.base / "state" / "dovecot"

    def maildir(self, user: str) -> Path:
        local, domain = user.split("@", 1)
        return self.mail_dir / domain.lower() / local / "Maildir"


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one start (new ones when a port was taken meanwhile)."""

    imaps: int
    imap: int
    smtp: int
    lmtp: int
    auth: int  # Dovecot SASL for Postfix
