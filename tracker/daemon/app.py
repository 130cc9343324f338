"""Wiring: config → engine, inbox, transport, composer; one pass of the service."""
from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator

import sqlalchemy as sa

from mailer import oauth
from mailer.compose import Composer
from mailer.inbox import ImapInbox, Inbox, MaildirInbox
from mailer.transport import MaildirTransport, SmtpTransport, Transport
from tracker.cases import events
from tracker.storage import lease
from tracker.outgoing import drain
from tracker.incoming import ingest as service
from tracker.incoming.reading import ParseWorker, Reader
from tracker.cases import deadlines as sweep
from tracker.cases.context import Context
from tracker.config.values import Config, OAuth2Config, PartnershipConfig, ServerConfig
from tracker.daemon.clock import Clock
from tracker.shipped import TEMPLATES
from tracker.storage.db import create_schema, make_engine, transaction

log = logging.getLogger(__name__)

SHIPPED_TEMPLATES = TEMPLATES  # a partnership's own [templates] dir comes first


def tls_context(server: ServerConfig) -> ssl.SSLContext:
    """Verification always on; a private CA file may be named in config."""
    return ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)


_token_providers: dict[OAuth2Config, oauth.TokenProvider] = {}
_token_providers_lock = threading.Lock()


def token_provider(cfg: OAuth2Config, clock: Clock) -> oauth.TokenProvider:
    """The process's one token cache per app registration: tokens outlive connections, and
    an inbox and an outgoing server signed in by the same app share one token."""
    with _token_providers_lock:
        if cfg not in _token_providers:
            _token_providers[cfg] = oauth.TokenProvider(_ConfiguredGrant(cfg, clock), clock.monotonic)
        return _token_providers[cfg]


class _ConfiguredGrant:
    """Reads the secrets and builds the grant at the first sign-in, so a missing secret is a
    TokenError there (the outbox keeps the mail, `check` shows it), not a crash at wiring."""

    def __init__(self, cfg: OAuth2Config, clock: Clock):
        self.cfg, self.clock, self.describe, self._grant = cfg, clock, cfg.describe, None

    def fetch(self) -> oauth.Token:
        if self._grant is None:
            self._grant = _grant(self.cfg, self.clock)
        return self._grant.fetch()


def _grant(cfg: OAuth2Config, clock: Clock) -> oauth.Grant:
    session = oauth.https_session(cfg.ca_file)
    secret = cfg.client_secret()
    if cfg.provider == "google":
        return oauth.GoogleRefreshToken(
            cfg.client_id, _needed(secret, "client secret", cfg.client_secret_env),
            _needed(cfg.refresh_token(), "refresh token", cfg.refresh_token_env),
            token_url=cfg.endpoint, scopes=cfg.scopes, session=session, now=clock.now)
    if cfg.certificate_env or cfg.certificate_file:
        credential = oauth.certificate_credential(_needed(cfg.certificate(), "certificate", cfg.certificate_env))
    else:
        credential = _needed(secret, "client secret", cfg.client_secret_env)
    return oauth.MicrosoftClientCredentials(cfg.tenant, cfg.client_id, credential, authority=cfg.endpoint,
                                            scopes=cfg.scopes, http_client=session)


def _needed(value: str | None, what: str, env: str) -> str:
    if not value:
        raise oauth.TokenError("configuration", f"no OAuth2 {what}: set the environment variable "
                               f"{env or 'named in config.toml'} or the secrets file")
    return value


def open_inbox(cfg: ServerConfig, clock: Clock, timeout: float = 30) -> Inbox:
    if cfg.kind == "maildir":
        return MaildirInbox(cfg.path)
    if cfg.auth == "oauth2":
        return ImapInbox(cfg.host, cfg.port, cfg.username, tokens=token_provider(cfg.oauth2, clock),
                         security=cfg.security, ssl_context=tls_context(cfg), folder=cfg.folder,
                         monotonic=clock.monotonic, timeout=timeout)
    password = cfg.password()
    if password is None:
        raise RuntimeError(f"no IMAP password: set the environment variable {cfg.password_env or '(inbox.password_env)'}")
    return ImapInbox(cfg.host, cfg.port, cfg.username, password, security=cfg.security,
                     ssl_context=tls_context(cfg), folder=cfg.folder, monotonic=clock.monotonic, timeout=timeout)


def open_transport(cfg: ServerConfig, clock: Clock, timeout: float = 30) -> Transport:
    if cfg.kind == "maildir":
        return MaildirTransport(cfg.path, now=clock.now)
    tokens = token_provider(cfg.oauth2, clock) if cfg.auth == "oauth2" else None
    return SmtpTransport(cfg.host, cfg.port, security=cfg.security, username=cfg.username,
                         password=None if tokens else cfg.password(), tokens=tokens, ssl_context=tls_context(cfg),
                         timeout=timeout)


@dataclass
class App:
    """One partnership's service. `clock` is real time (the lease, timers, sign-in tokens);
    `now` is the service's time, by which deadlines, reminders and the digest fall due: the
    real clock's, unless a test or the demo runs the service on a time of its own.

    Mail is read through `reader` (tracker/incoming/reading.py) when one is given (the demo
    and unit tests read in-process; its owner closes it); otherwise through a ParseWorker
    with the configured budget (security.parse_budget_seconds), open for as long as a
    `parsing()` block lasts: the daemon's life, or one `run --once`."""

    config: Config
    engine: sa.Engine
    composer: Composer
    clock: Clock
    now: Callable[[], datetime]
    instance: str = field(default_factory=lease.instance_id)
    reader: Reader | None = None
    _open_reader: Reader | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_config(cls, config: Config, clock: Clock, now: Callable[[], datetime] | None = None,
                    reader: Reader | None = None) -> "App":
        if config.partnership.outgoing.allow_insecure and config.partnership.outgoing.security == "none":
            log.warning("SECURITY: outgoing mail is sent WITHOUT encryption (outgoing.allow_insecure = true)")
        engine = make_engine(config.database_url)
        create_schema(engine)
        p = config.partnership
        composer = Composer([p.templates_dir, SHIPPED_TEMPLATES])
        return cls(config, engine, composer, clock, now or clock.now, reader=reader)

    @property
    def partnership(self) -> PartnershipConfig:
        return self.config.partnership

    def context(self) -> Context:
        return Context(self.partnership, self.composer, self.now())

    def folders(self) -> dict[str, str]:
        inbox = self.partnership.inbox
        return {service.PROCESSED: inbox.processed_folder, service.QUARANTINE: inbox.quarantine_folder}

    @contextmanager
    def parsing(self) -> Iterator[Reader]:
        """The reader for the length of the block: the injected one, the one an enclosing
        block opened, or a new ParseWorker, started now and closed (killed) at the end."""
        if self.reader is not None or self._open_reader is not None:
            yield self.reader or self._open_reader
            return
        worker = ParseWorker(budget=self.partnership.security.parse_budget_seconds)
        worker.start()
        self._open_reader = worker
        try:
            yield worker
        finally:
            self._open_reader = None
            worker.close()

    def ingest(self, inbox: Inbox, should_stop=lambda: False) -> int:
        with self.parsing() as reader:
            return service.ingest(self.engine, self.context, inbox, self.folders(), should_stop, reader)

    def purge(self) -> list[str]:
        """Apply the retention policy to closed cases; returns the refs purged."""
        from tracker.cases import retention

        with transaction(self.engine) as session:
            return retention.purge(session, self.context(), self.partnership.retention_days)

    def digest_catch_up(self) -> str | None:
        """Queue the weekly digest if one is due and not yet queued; returns its week."""
        from tracker.digest import weekly as digest

        with transaction(self.engine) as session:
            return digest.catch_up(session, self.context())

    def heartbeat(self, mailbox_reached: bool = False) -> None:
        from tracker.daemon import status

        status.beat(self, mailbox_reached=mailbox_reached)

    def sweep(self) -> list[str]:
        """Reminders and expired stages, by time; returns the case refs touched."""
        with transaction(self.engine) as session:
            return sweep.sweep(session, self.context())

    async def flush(self, transport: Transport) -> int:
        return await drain.drain(self.engine, transport, self.composer, self.partnership.id, self.partnership.address,
                                 self.now(), instance=self.instance, on_failure=self.delivery_failed)

    def delivery_failed(self, row_id: int, error: str) -> None:
        """A 5xx for one recipient: recorded on the case, and business support is told."""
        with transaction(self.engine) as session:
            events.on_refused_mail(session, self.context(), row_id, error)

    def run_once(self) -> tuple[int, int]:
        """Process what is waiting, send what is due. Returns (messages handled, mails sent)."""
        from tracker.daemon.logs import for_partnership

        for_partnership(self.partnership.id)
        inbox = open_inbox(self.partnership.inbox, self.clock)
        try:
            handled = self.ingest(inbox)
        finally:
            inbox.close()
        self.sweep()
        return handled, asyncio.run(self.send_all())

    async def send_all(self) -> int:
        transport = open_transport(self.partnership.outgoing, self.clock)
        try:
            return await self.flush(transport)
        finally:
            await transport.close()
