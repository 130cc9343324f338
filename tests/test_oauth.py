"""OAuth2 sign-in seams without servers: the token cache, one refresh and retry on refusal,
the XOAUTH2 string, the certificate credential, and the [inbox.oauth2] configuration.
Real IMAP and SMTP sign-ins are in tests/integration/test_oauth.py."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailer.oauth import (SignInRefused, Token, TokenError, TokenProvider, certificate_credential, sign_in,
                          xoauth2_string)
from tracker.config.load import config_from_dict
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


class CountingGrant:
    """Issues t1, t2, ... each living `lifetime` seconds; or refuses like Azure AD."""

    describe = "microsoft app test-app in tenant test"

    def __init__(self, lifetime: float = 3600, refuse: str | None = None):
        self.lifetime, self.refuse, self.fetched = lifetime, refuse, 0

    def fetch(self) -> Token:
        if self.refuse:
            raise TokenError("invalid_client", self.refuse)
        self.fetched += 1
        return Token(f"t{self.fetched}", self.lifetime)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_reused_until_five_minutes_before_it_expires():
    grant, clock = CountingGrant(lifetime=3600), Clock()
    tokens = TokenProvider(grant, clock)
    assert tokens.token() == tokens.token() == "t1"
    clock.now += 3600 - 301
    assert tokens.token() == "t1"
    clock.now += 2
    assert tokens.token() == "t2" and grant.fetched == 2


def test_a_short_lived_token_is_replaced_at_half_its_life():
    grant, clock = CountingGrant(lifetime=10), Clock()
    tokens = TokenProvider(grant, clock)
    assert tokens.token() == "t1"
    clock.now += 4.9
    assert tokens.token() == "t1"
    clock.now += 0.2
    assert tokens.token() == "t2"


def test_refresh_always_asks_the_provider():
    grant = CountingGrant()
    tokens = TokenProvider(grant, Clock())
    assert tokens.token() == "t1"
    assert tokens.refresh() == "t2"
    assert tokens.token() == "t2"


def test_a_refused_token_gets_one_refresh_and_one_retry():
    grant = CountingGrant()
    tokens = TokenProvider(grant, Clock())
    tried = []

    def attempt(token):
        tried.append(token)
        if token == "t1":
            raise PermissionError("AUTHENTICATE failed")
        return "signed in"

    assert sign_in(tokens, attempt, refused=(PermissionError,)) == "signed in"
    assert tried == ["t1", "t2"]


def test_a_fresh_token_refused_too_names_the_grant_and_stops():
    tokens = TokenProvider(CountingGrant(), Clock())
    tried = []

    def attempt(token):
        tried.append(token)
        raise PermissionError("AUTHENTICATE failed")

    with pytest.raises(SignInRefused, match="microsoft app test-app.*AUTHENTICATE failed"):
        sign_in(tokens, attempt, refused=(PermissionError,))
    assert tried == ["t1", "t2"]


def test_the_providers_refusal_carries_its_own_text():
    text = "AADSTS7000215: Invalid client secret provided."
    tokens = TokenProvider(CountingGrant(refuse=text), Clock())
    with pytest.raises(TokenError) as caught:
        sign_in(tokens, lambda token: None, refused=(PermissionError,))
    assert str(caught.value) == text and caught.value.error == "invalid_client"


def test_xoauth2_string_is_the_documented_sasl_response():
    assert xoauth2_string("intake@example.test", "tok") == "user=intake@example.test\x01auth=Bearer tok\x01\x01"


def test_certificate_credential_splits_key_and_certificate():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "escalations app")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    credential = certificate_credential(cert_pem + key_pem)
    assert credential == {"private_key": key_pem.strip(), "public_certificate": cert_pem.strip()}
    with pytest.raises(TokenError, match="private key and the certificate"):
        certificate_credential(cert_pem)


# --- configuration ---------------------------------------------------------------------------

def _config(tmp_path, inbox: dict, outgoing: dict | None = None):
    return config_from_dict({"inbox": inbox, "outgoing": outgoing or {}}, base=tmp_path)


MICROSOFT = {"kind": "imap", "host": "outlook.office365.com", "auth": "oauth2",
             "username": "safeguarding@council.example.test",
             "oauth2": {"tenant": "contoso.onmicrosoft.com", "client_id": "0f1e2d3c",
                        "client_secret_env": "ESCALATIONS_OAUTH2_SECRET"}}
GOOGLE = {"kind": "smtp", "host": "smtp.gmail.com", "security": "starttls", "auth": "oauth2",
          "username": "escalations@partnership.example.test",
          "oauth2": {"provider": "google", "client_id": "123.apps.googleusercontent.com",
                     "client_secret_file": "secrets/google-client", "refresh_token_env": "GOOGLE_REFRESH"}}


def test_microsoft_defaults_and_secret_from_the_environment(tmp_path, monkeypatch):
    inbox = _config(tmp_path, MICROSOFT).partnership.inbox
    assert inbox.auth == "oauth2" and inbox.username == "safeguarding@council.example.test"
    o = inbox.oauth2
    assert (o.provider, o.endpoint, o.scopes) == (
        "microsoft", "https://login.microsoftonline.com", ("https://outlook.office365.com/.default",))
    assert inbox.sign_in == "oauth2 (microsoft app 0f1e2d3c, tenant contoso.onmicrosoft.com)"
    assert o.client_secret() is None
    monkeypatch.setenv("ESCALATIONS_OAUTH2_SECRET", "s3cret")
    assert o.client_secret() == "s3cret"


def test_google_reads_its_secrets_from_a_file_and_the_environment(tmp_path, monkeypatch):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "google-client").write_text("client-secret\n")
    monkeypatch.setenv("GOOGLE_REFRESH", "1//refresh")
    outgoing = _config(tmp_path, {}, GOOGLE).partnership.outgoing
    o = outgoing.oauth2
    assert (o.endpoint, o.scopes) == ("https://oauth2.googleapis.com/token", ("https://mail.google.com/",))
    assert (o.client_secret(), o.refresh_token()) == ("client-secret", "1//refresh")
    assert outgoing.sign_in == "oauth2 (google client 123.apps.googleusercontent.com)"


def test_password_sign_in_stays_the_default(tmp_path):
    inbox = _config(tmp_path, {"kind": "imap", "host": "imap.example.test", "username": "u"}).partnership.inbox
    assert (inbox.auth, inbox.oauth2, inbox.sign_in) == ("password", None, "password")


def _with(base: dict, **changes) -> dict:
    out = {**base, "oauth2": {**base["oauth2"]}}
    for key, value in changes.items():
        target = out["oauth2"] if key.startswith("o_") else out
        key = key.removeprefix("o_")
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return out


@pytest.mark.parametrize("inbox, key", [
    (_with(MICROSOFT, auth="password"), "inbox.oauth2"),
    (_with(MICROSOFT, auth="kerberos"), "inbox.auth"),
    (_with(MICROSOFT, username=None), "inbox.username"),
    (_with(MICROSOFT, password_env="IMAP_PASSWORD"), "inbox.password_env"),
    (_with(MICROSOFT, o_tenant=None), "inbox.oauth2.tenant"),
    (_with(MICROSOFT, o_client_id=None), "inbox.oauth2.client_id"),
    (_with(MICROSOFT, o_client_secret_env=None), "inbox.oauth2.client_secret_env"),
    (_with(MICROSOFT, o_certificate_file="app.pem"), "inbox.oauth2.certificate_file"),
    (_with(MICROSOFT, o_authority="http://login.example.test"), "inbox.oauth2.authority"),
    (_with(MICROSOFT, o_refresh_token_env="X"), "inbox.oauth2.refresh_token_env"),
    (_with(MICROSOFT, o_provider="yahoo"), "inbox.oauth2.provider"),
    (_with(MICROSOFT, o_client_secret="in the file!"), "inbox.oauth2.client_secret"),
    (_with(MICROSOFT, o_scopes=7), "inbox.oauth2.scopes"),
    (_with(GOOGLE, kind="imap", security="tls", o_refresh_token_env=None), "inbox.oauth2.refresh_token_env"),
    (_with(GOOGLE, kind="imap", security="tls", o_tenant="t"), "inbox.oauth2.tenant"),
])
def test_bad_oauth2_settings_name_the_key(tmp_path, inbox, key):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, inbox)
    assert caught.value.key == key


def test_a_certificate_may_replace_the_secret(tmp_path):
    inbox = _config(tmp_path, _with(MICROSOFT, o_client_secret_env=None, o_certificate_file="app.pem"))
    assert inbox.partnership.inbox.oauth2.certificate_file == tmp_path / "app.pem"


def test_config_toml_documents_every_sign_in_key():
    text = (ROOT / "config.toml").read_text()
    for key in ("auth", "oauth2.provider", "oauth2.tenant", "oauth2.client_id", "oauth2.client_secret_env",
                "oauth2.client_secret_file", "oauth2.certificate_env", "oauth2.certificate_file",
                "oauth2.refresh_token_env", "oauth2.refresh_token_file", "oauth2.authority",
                "oauth2.token_url", "oauth2.scopes", "oauth2.ca_file"):
        assert f"# {key} = " in text, key


def test_a_missing_secret_is_a_token_error_at_sign_in_not_at_start(tmp_path, monkeypatch):
    from tracker.daemon.app import token_provider
    from tracker.daemon.clock import SystemClock

    monkeypatch.delenv("ESCALATIONS_OAUTH2_SECRET", raising=False)
    inbox = _config(tmp_path, _with(MICROSOFT, o_client_id="app-without-a-secret")).partnership.inbox
    tokens = token_provider(inbox.oauth2, SystemClock())  # wiring succeeds: the daemon starts, the outbox keeps mail
    with pytest.raises(TokenError, match="no OAuth2 client secret: set the environment variable "
                                         "ESCALATIONS_OAUTH2_SECRET"):
        tokens.token()
