"""Where outgoing mail goes: an SMTP server (aiosmtplib, TLS) or a local Maildir.

`send()` either returns (the mail is accepted), or raises `TemporaryFailure` (try again
later: 4xx, connection trouble) or `PermanentFailure` (5xx: the recipient is refused).
`connect()` reaches the server and signs in without sending anything (`escalations check`).
"""
from __future__ import annotations

import itertools
import os
import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Protocol

import aiosmtplib

from mailer.inbox import make_maildir
from mailer.oauth import SignInRefused, TokenError, TokenProvider, async_sign_in


class TemporaryFailure(Exception):
    """Try again later."""


class PermanentFailure(Exception):
    """The server refused this mail for good."""


class Transport(Protocol):
    async def connect(self) -> None: ...
    async def send(self, raw: bytes, sender: str, recipients: list[str], name: str = "") -> None: ...
    async def close(self) -> None: ...


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_written = itertools.count(1)  # of this process: names stay unique whatever the clock says


class MaildirTransport:
    """Writes each mail as an .eml file into a Maildir's new/ folder (the embedded default).
    File names begin with the time of writing (`now`: the caller's clock, aware), so a
    listing sorted by name is in the order the mail was sent."""

    def __init__(self, path: Path, now: Callable[[], datetime]):
        self.path, self.now = Path(path), now
        make_maildir(self.path)

    async def connect(self) -> None:
        pass  # a folder: nothing to reach

    async def send(self, raw: bytes, sender: str, recipients: list[str], name: str = "") -> None:
        micros = (self.now() - _EPOCH) // _MICROSECOND
        stem = f"{micros}.{os.getpid()}.{next(_written)}" + (f"-{name}" if name else "")
        tmp = self.path / "tmp" / f"{stem}.eml"
        tmp.write_bytes(raw)
        os.chmod(tmp, 0o600)
        tmp.rename(self.path / "new" / f"{stem}.eml")

    async def close(self) -> None:
        pass


class SmtpTransport:
    """One reused SMTP connection; reconnects when the server has dropped it."""

    def __init__(self, host: str, port: int, *, security: str = "starttls", username: str = "",
                 password: str | None = None, tokens: TokenProvider | None = None,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 30):
        if username and security == "none":
            raise ValueError("refusing to send a password over an unencrypted SMTP connection")
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.tokens = username, password, tokens
        self.context = ssl_context or ssl.create_default_context()
        self.timeout = timeout
        self._smtp: aiosmtplib.SMTP | None = None

    async def connect(self) -> None:
        await self._connection()

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        smtp = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, timeout=self.timeout, tls_context=self.context,
            use_tls=self.security == "tls", start_tls=self.security == "starttls",
        )
        await smtp.connect()
        if self.username:
            await self._sign_in(smtp)
        self._smtp = smtp
        return smtp

    async def _sign_in(self, smtp: aiosmtplib.SMTP) -> None:
        """AUTH with the password, or XOAUTH2 as `username` with a token (a refused token gets
        one refresh and one retry). A refusal is temporary for the mail: it waits in the
        outbox while someone puts the sign-in right, and no recipient is told it failed."""
        try:
            if self.tokens is None:
                await smtp.login(self.username, self.password or "")
            else:
                await async_sign_in(self.tokens, lambda token: smtp.auth_xoauth2(self.username, token),
                                    refused=(aiosmtplib.SMTPAuthenticationError,))
        except (aiosmtplib.SMTPAuthenticationError, TokenError, SignInRefused) as exc:
            smtp.close()
            raise TemporaryFailure(f"sign-in as {self.username} failed: {exc}") from exc

    async def send(self, raw: bytes, sender: str, recipients: list[str], name: str = "") -> None:
        try:
            smtp = await self._connection()
            errors, _ = await smtp.sendmail(sender, recipients, raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _classify(exc.recipients[0].code, str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _classify(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise TemporaryFailure(str(exc)) from exc
        if errors:
            code, message = next(iter(errors.values()))
            raise _classify(code, message)

    async def close(self) -> None:
        if self._smtp is not None:
            try:
                await self._smtp.quit()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                self._smtp.close()
            self._smtp = None


def _classify(code: int, message: str) -> Exception:
    if 500 <= code < 600:
        return PermanentFailure(f"{code} {message}")
    return TemporaryFailure(f"{code} {message}")
