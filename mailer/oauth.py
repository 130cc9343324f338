"""OAuth2 access tokens for XOAUTH2 sign-in to IMAP and SMTP, kept in memory.

A `Grant` asks an identity provider for a fresh token: `MicrosoftClientCredentials`
(an Entra ID app registration, through MSAL) or `GoogleRefreshToken` (an OAuth client's
refresh token, through google-auth). A `TokenProvider` caches one grant's token, asks for
a new one before it expires, and `sign_in()` gives a refused token one refresh and one
retry (`async_sign_in()`: the same, for an asyncio client). Every refusal by the provider is a `TokenError` whose text is the provider's own
("AADSTS7000215: Invalid client secret provided. ..."), for `escalations check`.
"""
from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Awaitable, Callable, Protocol, TypeVar

T = TypeVar("T")

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"  # IMAP.AccessAsApp and SMTP.SendAsApp
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPE = "https://mail.google.com/"
REFRESH_MARGIN = 300.0  # seconds before expiry a token is replaced (MSAL's own margin)


class TokenError(Exception):
    """The identity provider issued no token. `str()` is its own description of why."""

    def __init__(self, error: str, description: str = ""):
        super().__init__(description or error)
        self.error, self.description = error, description


@dataclass(frozen=True)
class Token:
    value: str
    expires_in: float  # seconds, counted from when the provider answered


class Grant(Protocol):
    """One way of obtaining a token; `describe` names it for people ("microsoft app 1f0c…")."""

    describe: str

    def fetch(self) -> Token: ...  # a new token, never a cached one; raises TokenError


def xoauth2_string(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64, as Microsoft and Google document it.

    >>> xoauth2_string("intake@example.test", "abc")
    'user=intake@example.test\\x01auth=Bearer abc\\x01\\x01'
    """
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


class TokenProvider:
    """One grant's token, cached in memory and replaced `margin` seconds before it expires
    (at most half its lifetime, for short-lived tokens). Safe to share between threads.
    `clock` is the caller's monotonic clock, in seconds."""

    def __init__(self, grant: Grant, clock: Callable[[], float], margin: float = REFRESH_MARGIN):
        self.grant, self.clock, self.margin = grant, clock, margin
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()

    @property
    def describe(self) -> str:
        return self.grant.describe

    def token(self) -> str:
        """The cached token while it is fresh, else a new one."""
        with self._lock:
            if self._token is None or self.clock() >= self._refresh_at:
                self._fetch()
            return self._token

    def refresh(self) -> str:
        """A new token at once: the server refused the cached one (revoked, or expired early)."""
        with self._lock:
            self._fetch()
            return self._token

    def _fetch(self) -> None:
        self._token = None
        asked = self.clock()
        token = self.grant.fetch()
        self._token = token.value
        self._refresh_at = asked + token.expires_in - min(self.margin, token.expires_in / 2)


class SignInRefused(Exception):
    """The mail server refused a token the identity provider had just issued."""


def sign_in(tokens: TokenProvider, attempt: Callable[[str], T], refused: tuple[type[BaseException], ...]) -> T:
    """`attempt(token)`; if the server refuses the cached token (one of `refused`), one
    refresh and one retry. A second refusal raises SignInRefused naming the grant."""
    try:
        return attempt(tokens.token())
    except refused:
        pass
    try:
        return attempt(tokens.refresh())
    except refused as exc:
        raise SignInRefused(f"the server refused a fresh token from {tokens.describe}: {exc}") from exc


def https_session(ca_file: str | None = None):
    """A requests.Session for the identity provider; with `ca_file`, that CA alone is trusted.

    requests lets REQUESTS_CA_BUNDLE (set on many hosts) silently replace a session's
    `verify`; this session keeps the CA it was given. Proxy variables still apply."""
    import requests

    class PinnedSession(requests.Session):
        def merge_environment_settings(self, url, proxies, stream, verify, cert):
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            settings["verify"] = self.verify
            return settings

    session = PinnedSession() if ca_file else requests.Session()
    if ca_file:
        session.verify = str(ca_file)
    return session


async def async_sign_in(tokens: TokenProvider, attempt: Callable[[str], Awaitable[T]],
                        refused: tuple[type[BaseException], ...]) -> T:
    """`sign_in` for an asyncio client: the same rule, run in a worker thread (fetching a
    token blocks on the identity provider), each `attempt(token)` run on the event loop."""
    loop = asyncio.get_running_loop()

    def attempt_on_loop(token: str) -> T:
        return asyncio.run_coroutine_threadsafe(attempt(token), loop).result()

    return await asyncio.to_thread(sign_in, tokens, attempt_on_loop, refused)


# --- the two grants -----------------------------------------------------------------------

class MicrosoftClientCredentials:
    """Client-credentials flow for an Entra ID (Azure AD) app registration, through MSAL.

    `credential` is the client secret, or {"private_key": PEM, "public_certificate": PEM}
    (see `certificate_credential`). `http_client` is a requests.Session; give it
    `verify=CA_FILE` for a private CA."""

    def __init__(self, tenant: str, client_id: str, credential: str | dict, *,
                 authority: str = MICROSOFT_AUTHORITY, scopes: tuple[str, ...] = (MICROSOFT_SCOPE,),
                 http_client=None):
        self.tenant, self.client_id, self.credential = tenant, client_id, credential
        self.authority = f"{authority.rstrip('/')}/{tenant}"
        self.scopes, self.http_client = list(scopes), http_client
        self.describe = f"microsoft app {client_id} in tenant {tenant}"
        self._app = None

    def fetch(self) -> Token:
        app = self._application()
        app.remove_tokens_for_client()  # TokenProvider is the cache; MSAL's would hand back a refused token
        try:
            result = app.acquire_token_for_client(scopes=self.scopes)
        except OSError as exc:  # requests' connection errors are OSErrors
            raise TokenError("unreachable", f"cannot reach {self.authority}: {exc}") from exc
        if "access_token" not in result:
            raise TokenError(result.get("error", "error"), result.get("error_description", ""))
        return Token(result["access_token"], float(result.get("expires_in", 3600)))

    def _application(self):
        import msal

        if self._app is None:
            known = self.authority.startswith(MICROSOFT_AUTHORITY + "/")
            try:  # constructing it fetches the tenant's OpenID configuration
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self.credential, authority=self.authority,
                    validate_authority=known, instance_discovery=known, http_client=self.http_client)
            except (ValueError, OSError) as exc:
                raise TokenError("authority", f"{self.authority}: {exc}") from exc
        return self._app


_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.S)


def certificate_credential(pem: str) -> dict:
    """MSAL's certificate credential from one PEM holding the private key and its certificate;
    MSAL works out the SHA-256 thumbprint from the certificate."""
    blocks = {m.group(1): m.group(0) for m in _PEM.finditer(pem)}
    key = next((v for k, v in blocks.items() if k.endswith("PRIVATE KEY")), None)
    if key is None or "CERTIFICATE" not in blocks:
        raise TokenError("certificate", "the certificate file needs the private key and the certificate, both PEM")
    return {"private_key": key, "public_certificate": blocks["CERTIFICATE"]}


class GoogleRefreshToken:
    """Refresh-token flow for a Google OAuth client (Workspace user or delegated account),
    through google-auth. `session` is a requests.Session (`verify=CA_FILE` for a private CA);
    `now` the caller's clock (aware UTC), to turn the token's expiry into a lifetime."""

    def __init__(self, client_id: str, client_secret: str, refresh_token: str, *, now: Callable[[], datetime],
                 token_url: str = GOOGLE_TOKEN_URL, scopes: tuple[str, ...] = (GOOGLE_SCOPE,), session=None):
        self.client_id, self.client_secret, self.refresh_token = client_id, client_secret, refresh_token
        self.token_url, self.scopes, self.session, self.now = token_url, list(scopes), session, now
        self.describe = f"google client {client_id}"

    def fetch(self) -> Token:
        from google.auth import exceptions
        from google.auth.transport.requests import Request
        from google.oauth2.credentials import Credentials

        creds = Credentials(None, refresh_token=self.refresh_token, token_uri=self.token_url,
                            client_id=self.client_id, client_secret=self.client_secret, scopes=self.scopes)
        try:
            creds.refresh(Request(self.session))
        except exceptions.RefreshError as exc:
            data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            raise TokenError(data.get("error", "refused"), data.get("error_description") or str(exc.args[0])) from exc
        except exceptions.TransportError as exc:
            raise TokenError("unreachable", f"cannot reach {self.token_url}: {exc}") from exc
        now = self.now().astimezone(timezone.utc).replace(tzinfo=None)  # google-auth's expiry is naive UTC
        left = (creds.expiry - now).total_seconds() if creds.expiry else 3600.0
        return Token(creds.token, max(left, 0.0))
