"""A small local identity provider for the XOAUTH2 tests: issues, expires and refuses tokens.

HTTPS on loopback with its own throw-away CA (``testbed.pki``): MSAL accepts only
https authorities, and clients keep certificate checking on (``ca_file``). It serves

* what MSAL asks for in the client-credentials flow of a Microsoft 365 app registration:
  ``GET /<tenant>/v2.0/.well-known/openid-configuration`` and
  ``POST /<tenant>/oauth2/v2.0/token`` (client secret, or a certificate-signed
  ``client_assertion`` checked with the registered certificate);
* Google's refresh-token grant: ``POST /token``;
* RFC 7662 introspection for Dovecot's oauth2 passdb: ``POST /introspect`` with
  ``token=...`` answers ``{"active": true, "username": <the mailbox the app may open>}``.

Refusals carry the error JSON the real providers send (Azure AD's ``AADSTS...`` texts,
Google's ``invalid_grant``), so tests can check that a person is shown the provider's
words. Controls: ``lifetime`` (seconds a new token lives), ``expire_all()`` (every issued
token stops being accepted, while clients still believe it valid) and ``revoke(client_id)``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .https import serve, shut
from .pki import Pki, make_test_pki

__all__ = ["OAuthServer", "AADSTS_BAD_SECRET"]

AADSTS_BAD_SECRET = ("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                     "request is the client secret value, not the client secret ID, for a secret added to app "
                     "'{client_id}'.")
AADSTS_NO_APP = ("AADSTS700016: Application with identifier '{client_id}' was not found in the directory "
                 "'{tenant}'.")
AADSTS_BAD_CERT = "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered."


@dataclass
class _Client:
    client_id: str
    mailbox: str  # what introspection names as the user: the one mailbox the app may open
    secret: str | None = None
    certificate_pem: bytes | None = None
    refresh_token: str | None = None  # Google style: the client's secret is `secret`
    revoked: bool = False
    issued: int = 0


@dataclass
class _Issued:
    client_id: str
    expires: float
    scope: str


@dataclass
class OAuthServer:
    base: Path
    tenant: str = "partnership-tenant"
    lifetime: float = 3600.0
    host: str = "127.0.0.1"
    port: int = 0
    pki: Pki | None = None
    clients: dict[str, _Client] = field(default_factory=dict)
    tokens: dict[str, _Issued] = field(default_factory=dict)
    introspections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ registration and controls
    def register(self, client_id: str, mailbox: str, *, secret: str | None = None,
                 certificate_pem: bytes | None = None, refresh_token: str | None = None) -> None:
        self.clients[client_id] = _Client(client_id, mailbox.lower(), secret, certificate_pem, refresh_token)

    def revoke(self, client_id: str) -> None:
        """The client is refused from now on (a deleted secret), and its tokens stop working."""
        with self._lock:
            self.clients[client_id].revoked = True
            for token, issued in self.tokens.items():
                if issued.client_id == client_id:
                    issued.expires = 0

    def expire_all(self) -> None:
        with self._lock:
            for issued in self.tokens.values():
                issued.expires = 0

    def issued(self, client_id: str) -> int:
        return self.clients[client_id].issued

    # ------------------------------------------------------------------ addresses
    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def authority(self) -> str:  # MSAL: authority = url + "/" + tenant
        return self.url

    @property
    def token_url(self) -> str:  # Google-style token endpoint
        return f"{self.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def ca_file(self) -> Path:
        assert self.pki is not None, "start() the server first"
        return self.pki.ca_cert

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "OAuthServer":
        self.base.mkdir(parents=True, exist_ok=True)
        if self.pki is None:
            self.pki = make_test_pki(self.base / "tls")
        server = self

        class Handler(_Handler):
            idp = server

        self._httpd = serve(Handler, self.pki, self.host, self.port, "oauth-server")
        self.port = self._httpd.server_address[1]
        return self

    def stop(self) -> None:
        shut(self._httpd)
        self._httpd = None

    def __enter__(self) -> "OAuthServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the endpoints' logic
    def openid_configuration(self, tenant: str) -> tuple[int, dict]:
        if tenant != self.tenant:
            return 400, {"error": "invalid_tenant", "error_description":
                         f"AADSTS90002: Tenant '{tenant}' not found."}
        root = f"{self.url}/{tenant}"
        return 200, {"issuer": f"{root}/v2.0", "token_endpoint": f"{root}/oauth2/v2.0/token",
                     "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                     "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"]}

    def client_credentials(self, tenant: str, form: dict[str, str]) -> tuple[int, dict]:
        client = self.clients.get(form.get("client_id", ""))
        if tenant != self.tenant or client is None:
            return 400, _aad("unauthorized_client", AADSTS_NO_APP.format(
                client_id=form.get("client_id"), tenant=tenant), 700016)
        if form.get("grant_type") != "client_credentials":
            return 400, _aad("unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003)
        if "client_assertion" in form:
            if client.revoked or not self._assertion_ok(client, form["client_assertion"], tenant):
                return 401, _aad("invalid_client", AADSTS_BAD_CERT, 700027)
        elif client.revoked or form.get("client_secret") != client.secret:
            return 401, _aad("invalid_client", AADSTS_BAD_SECRET.format(client_id=client.client_id), 7000215)
        return 200, self._issue(client, form.get("scope", ""))

    def refresh_grant(self, form: dict[str, str]) -> tuple[int, dict]:
        client = self.clients.get(form.get("client_id", ""))
        if client is None or client.secret != form.get("client_secret"):
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        if form.get("grant_type") != "refresh_token" or client.revoked or form.get("refresh_token") != client.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        return 200, self._issue(client, form.get("scope", ""))

    def introspect(self, token: str) -> dict:
        with self._lock:
            self.introspections += 1
            issued = self.tokens.get(token)
            if issued is None or issued.expires <= time.time():
                return {"active": False}
            return {"active": True, "username": self.clients[issued.client_id].mailbox,
                    "client_id": issued.client_id, "scope": issued.scope, "exp": int(issued.expires)}

    def _issue(self, client: _Client, scope: str) -> dict:
        token = secrets.token_urlsafe(32)
        with self._lock:
            client.issued += 1
            self.tokens[token] = _Issued(client.client_id, time.time() + self.lifetime, scope)
        return {"token_type": "Bearer", "access_token": token, "expires_in": self.lifetime,
                "ext_expires_in": self.lifetime, "scope": scope}

    def _assertion_ok(self, client: _Client, assertion: str, tenant: str) -> bool:
        import jwt
        from cryptography import x509

        if client.certificate_pem is None:
            return False
        key = x509.load_pem_x509_certificate(client.certificate_pem).public_key()
        try:
            claims = jwt.decode(assertion, key, algorithms=["RS256", "PS256"],
                                audience=f"{self.url}/{tenant}/oauth2/v2.0/token")
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == client.client_id == claims.get("sub")


def _aad(error: str, description: str, code: int) -> dict:
    """An error body shaped like Azure AD's."""
    return {"error": error, "error_description": description, "error_codes": [code],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": secrets.token_hex(8), "correlation_id": secrets.token_hex(8)}


class _Handler(BaseHTTPRequestHandler):
    idp: OAuthServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet: pytest shows failures, not traffic
        pass

    def do_GET(self) -> None:
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            self._reply(*self.idp.openid_configuration(parts[0]))
        else:
            self._reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if parts == ["introspect"]:
            self._reply(200, self.idp.introspect(form.get("token", "")))
        elif parts == ["token"]:
            self._reply(*self.idp.refresh_grant(form))
        elif len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            self._reply(*self.idp.client_credentials(parts[0], form))
        else:
            self._reply(404, {"error": "not_found"})

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)
