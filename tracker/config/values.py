"""The frozen values config.toml loads into (tracker.config.load builds them, once, at start).

Secrets are never values here: a config names the environment variable or the secrets file
that holds one, and the secret is read when it is needed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from tracker.policy.calendar import WorkingCalendar
from tracker.policy.directory import Directory
from tracker.policy.model import Policy


# Every secret this process has read, so that the logs can blank it out wherever it would
# appear (tracker.daemon.logs): a server or a library may quote what it was given.
SECRETS_READ: set[str] = set()


def secret(env: str, file: Path | None) -> str | None:
    """A secret, read when needed from the environment variable or else the secrets file."""
    value = None
    if env and os.environ.get(env):
        value = os.environ[env]
    elif file:
        value = file.read_text().strip()
    if value and len(value) >= 4:  # shorter would blank out ordinary words
        SECRETS_READ.add(value)
    return value


@dataclass(frozen=True)
class OAuth2Config:
    """How to obtain XOAUTH2 tokens: a Microsoft 365 app registration (client credentials,
    with a secret or a certificate) or a Google OAuth client (refresh token)."""

    provider: str  # "microsoft" | "google"
    client_id: str
    tenant: str = ""  # microsoft only
    endpoint: str = ""  # microsoft: the authority host; google: the token URL
    scopes: tuple[str, ...] = ()
    client_secret_env: str = ""
    client_secret_file: Path | None = None
    certificate_env: str = ""  # microsoft: PEM with the private key and its certificate
    certificate_file: Path | None = None
    refresh_token_env: str = ""  # google only
    refresh_token_file: Path | None = None
    ca_file: Path | None = None  # a private CA for the identity provider; default the system's

    def client_secret(self) -> str | None:
        return secret(self.client_secret_env, self.client_secret_file)

    def certificate(self) -> str | None:
        return secret(self.certificate_env, self.certificate_file)

    def refresh_token(self) -> str | None:
        return secret(self.refresh_token_env, self.refresh_token_file)

    @property
    def describe(self) -> str:
        return (f"oauth2 (microsoft app {self.client_id}, tenant {self.tenant})" if self.provider == "microsoft"
                else f"oauth2 (google client {self.client_id})")


@dataclass(frozen=True)
class ServerConfig:
    """An IMAP or SMTP server. `kind` 'maildir' means a local folder instead of a server."""

    kind: str
    path: Path | None = None
    host: str = ""
    port: int = 0
    security: str = "tls"
    username: str = ""
    password_env: str = ""
    password_file: Path | None = None
    ca_file: Path | None = None
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: float = 30.0
    allow_insecure: bool = False
    auth: str = "password"  # or "oauth2": XOAUTH2 as `username` with a token from `oauth2`
    oauth2: OAuth2Config | None = None

    def password(self) -> str | None:
        """The secret, read when needed from the environment or a secrets file."""
        return secret(self.password_env, self.password_file)

    @property
    def sign_in(self) -> str:
        """How the service signs in, for people: "password" or "oauth2 (microsoft app …)"."""
        return self.oauth2.describe if self.auth == "oauth2" and self.oauth2 else "password"


# Who receives the partnership's mail and writes its verdict on each sender
# (tracker/config/security.py); "" is the key left out: nobody, so nothing is authenticated.
RECEIVING_SERVERS = ("microsoft", "google", "self-hosted", "none", "")


@dataclass(frozen=True)
class SecurityConfig:
    """Who is believed, and how much the service will say to one address. `receiving_server`:
    one of RECEIVING_SERVERS; `authserv_ids`: the ids whose Authentication-Results count
    (self-hosted; ("mx.google.com",) for google); `migrated`: how old keys were read."""

    receiving_server: str = ""
    authserv_ids: tuple[str, ...] = ()
    accept_compauth: bool = False
    migrated: str = ""
    max_replies_per_address_per_day: int = 20
    max_new_cases_per_sender_per_day: int = 5
    max_attachment_bytes: int = 10_000_000
    refused_attachment_types: tuple[str, ...] = ()
    parse_budget_seconds: float = 1.5  # per message, enforced by killing the parse worker (parser/worker.py)


@dataclass(frozen=True)
class PartnershipConfig:
    id: str
    name: str
    address: str
    display_name: str
    business_support: tuple[str, ...]
    partner_domains: tuple[str, ...]
    safeguarding_lead: str | None
    policy: Policy
    calendar: WorkingCalendar
    inbox: ServerConfig
    outgoing: ServerConfig
    templates_dir: Path
    directory: Directory | None = None
    security: SecurityConfig = SecurityConfig()
    retention_days: int = 730  # closed cases lose raw mail and free text after this; 0 keeps them
    digest_day: int = 0  # Monday; datetime.weekday() numbering
    digest_time: time = time(9, 0)  # in the partnership's time zone

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


@dataclass(frozen=True)
class DaemonConfig:
    heartbeat_file: Path
    sweep_seconds: float = 60.0


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str
    partnership: PartnershipConfig
    daemon: DaemonConfig
    log_level: str = "INFO"
    # [desk] as written; tracker.desk.signin.settings validates it (at the desk's start and in
    # `escalations check`): the web desk's settings stay out of the daemon's way.
    desk: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # where the service writes (tracker.config.state); the paths above are resolved already
    state_dir: Path | None = None
