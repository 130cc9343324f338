"""A small OpenID Connect provider on loopback, for the desk's sign-in tests.

HTTPS with the harness's throw-away CA (``tests.harness.pki``): the desk verifies it against
that CA, and the browser trusts it through an NSS database of its own. It serves

* discovery: ``GET /.well-known/openid-configuration`` (the issuer is ``url``);
* authorisation: ``GET /authorize`` shows a page with one button per registered person
  (the "which account?" step of a real provider); ``POST /authorize`` sends the browser back
  to the redirect URI with a code and the state;
* token: ``POST /token`` (authorization_code; client secret by HTTP Basic or in the form; the
  PKCE verifier must match the S256 challenge) answers with an RS256-signed ID token;
* keys: ``GET /jwks``.

``grants`` counts codes exchanged; ``last_authorize`` keeps the parameters of the last
authorisation request (tests check PKCE and nonce were sent).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .https import serve, shut
from .pki import Pki, make_test_pki

__all__ = ["OidcServer"]


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    email: str
    nonce: str | None
    challenge: str
    expires: float


@dataclass
class OidcServer:
    base: Path
    client_id: str = "desk-client"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    host: str = "127.0.0.1"
    port: int = 0
    pki: Pki | None = None
    people: dict[str, dict] = field(default_factory=dict)  # email -> extra claims (name, groups)
    grants: int = 0
    last_authorize: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def person(self, email: str, name: str = "", groups: tuple[str, ...] = ()) -> None:
        self.people[email] = {"name": name or email.split("@")[0], "groups": list(groups)}

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ca_file(self) -> Path:
        assert self.pki is not None, "start() the server first"
        return self.pki.ca_cert

    def start(self) -> "OidcServer":
        self.base.mkdir(parents=True, exist_ok=True)
        self.pki = self.pki or make_test_pki(self.base / "tls")
        server = self

        class Handler(_Handler):
            idp = server

        self._httpd = serve(Handler, self.pki, self.host, self.port, "oidc-server")
        self.port = self._httpd.server_address[1]
        return self

    def stop(self) -> None:
        shut(self._httpd)
        self._httpd = None

    # ------------------------------------------------------------------ the endpoints' logic
    def discovery(self) -> dict:
        return {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token", "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"]}

    def jwks(self) -> dict:
        key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**key, "kid": self._kid, "use": "sig", "alg": "RS256"}]}

    def authorize_page(self, params: dict[str, str]) -> tuple[int, str]:
        self.last_authorize = dict(params)
        if params.get("client_id") != self.client_id or params.get("response_type") != "code":
            return 400, "<p>unknown client or response type</p>"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return 400, "<p>PKCE (S256) is required</p>"
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in params.items())
        buttons = "".join(f'<button type="submit" name="login_as" value="{html.escape(e)}">Sign in as '
                          f'{html.escape(e)}</button>' for e in self.people)
        return 200, (f'<!DOCTYPE html><html lang="en"><head><title>Test identity provider</title></head><body>'
                     f'<h1>Pick an account</h1><form method="post" action="/authorize">{hidden}{buttons}'
                     f'</form></body></html>')

    def authorize(self, form: dict[str, str]) -> str:
        """The redirect back to the client, with a code for the chosen person."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(form["client_id"], form["redirect_uri"], form["login_as"], form.get("nonce"),
                                      form["code_challenge"], time.time() + 60)
        query = urllib.parse.urlencode({"code": code, "state": form.get("state", "")})
        return f"{form['redirect_uri']}?{query}"

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict]:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (code is None or code.expires < time.time() or code.redirect_uri != form.get("redirect_uri")
                or code.client_id != client_id or challenge != code.challenge):
            return 400, {"error": "invalid_grant"}
        self.grants += 1
        now = int(time.time())
        claims = {"iss": self.url, "sub": hashlib.sha256(code.email.encode()).hexdigest()[:20], "aud": client_id,
                  "iat": now, "exp": now + 300, "email": code.email, "preferred_username": code.email,
                  **self.people.get(code.email, {})}
        if code.nonce:
            claims["nonce"] = code.nonce
        id_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid})
        return 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                     "id_token": id_token, "scope": "openid email profile"}


class _Handler(BaseHTTPRequestHandler):
    idp: OidcServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
        if path == "/.well-known/openid-configuration":
            self._json(200, self.idp.discovery())
        elif path == "/jwks":
            self._json(200, self.idp.jwks())
        elif path == "/authorize":
            status, page = self.idp.authorize_page(params)
            self._send(status, page.encode(), "text/html; charset=utf-8")
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/authorize":
            self.send_response(302)
            self.send_header("Location", self.idp.authorize(form))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/token":
            self._json(*self.idp.token(form, self._basic()))
        else:
            self._json(404, {"error": "not_found"})

    def _basic(self) -> tuple[str, str] | None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)

    def _json(self, status: int, body: dict) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)
