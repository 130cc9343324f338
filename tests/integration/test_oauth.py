"""XOAUTH2 sign-in over real IMAP and SMTP on loopback, with no password anywhere.

A partnership's secure inbox is an Exchange Online shared mailbox: an app registration
signs in with the client-credentials flow (through MSAL) and opens the mailbox it was
granted (`intake@`), which is not the app's own identity; its mail goes out from
partnership.address (`escalations@`), not the identity that signed in to SMTP. Here the
identity provider is testbed/oauth_server.py (issue, expire, refuse, introspect) and
Dovecot's oauth2 passdb asks it about every token; Postfix's AUTH goes through Dovecot.
Each test registers its own app, so each has its own token cache in the service.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import shutil
import time
import uuid
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from mailer.oauth import SignInRefused, TokenError
from mailer.transport import TemporaryFailure
from testbed import mailstack as _mailstack
from testbed.dirs import server_dir
from testbed.mailstack import DovecotOAuth2, MailStack
from testbed.oauth_server import OAuthServer
from tests.helpers.servers import USERS, keep_or_remove, require
from tests.helpers.stack import intake_mail
from tracker.daemon.app import App, open_inbox, open_transport
from tracker.daemon.clock import SystemClock
from tracker.cli.check import check
from tracker.config.load import config_from_dict

INTAKE = "intake@partnership.example.test"  # the shared mailbox
SENDING_ADDRESS = "escalations@partnership.example.test"  # partnership.address
WORKER = "worker@council.example.test"
OTHER = "other@health.example.test"
BUSINESS = "business@partnership.example.test"
SECRET = "app-secret-value"


@pytest.fixture(scope="module")
def idp() -> Iterator[OAuthServer]:
    server = OAuthServer(server_dir("escalations-idp-"))
    with server:
        yield server
    shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(idp, request) -> Iterator[MailStack]:
    """Its own Dovecot + Postfix with the oauth2 passdb on: the session's stack stays as it is."""
    require(_mailstack.missing_requirements(), "Dovecot and Postfix")
    ms = MailStack(server_dir("escalations-oauth-mailstack-"), USERS, password="secret",
                   oauth2=DovecotOAuth2(idp.introspection_url, idp.ca_file))
    try:
        ms.start()
        yield ms
    finally:
        ms.stop()
        keep_or_remove(request, ms, "OAuth mail stack")


@pytest.fixture
def app_id(idp, stack) -> str:
    """A new app registration granted the shared mailbox alone (Add-MailboxPermission)."""
    stack.clear()
    client_id = f"app-{uuid.uuid4()}"
    idp.register(client_id, INTAKE, secret=SECRET)
    return client_id


def microsoft(idp, client_id: str, **extra) -> dict:
    return {"tenant": idp.tenant, "client_id": client_id, "client_secret_env": "TEST_OAUTH2_SECRET",
            "authority": idp.authority, "ca_file": str(idp.ca_file), **extra}


def servers(stack, oauth2: dict, username: str = INTAKE) -> dict:
    common = {"host": "127.0.0.1", "username": username, "ca_file": str(stack.ca_file), "auth": "oauth2",
              "oauth2": oauth2}
    return {"inbox": {"kind": "imap", "port": stack.imaps_port, "security": "tls", **common},
            "outgoing": {"kind": "smtp", "port": stack.smtp_port, "security": "starttls", **common}}


def service_config(stack, tmp_path, monkeypatch, oauth2: dict, username: str = INTAKE):
    monkeypatch.setenv("TEST_OAUTH2_SECRET", SECRET)
    return config_from_dict({
        "partnership": {"id": "oauth", "address": SENDING_ADDRESS, "business_support": [BUSINESS],
                        "partner_domains": ["partnership.example.test", "council.example.test",
                                            "health.example.test"]},
        "database": {"url": f"sqlite:///{tmp_path / 'cases.db'}", "url_env": ""},
        "security": {"receiving_server": "none"},  # the test Postfix writes no Authentication-Results
        **servers(stack, oauth2, username),
    }, base=tmp_path)


def reach_both(config) -> None:
    """Sign in to the inbox and to SMTP once each, as `escalations check` does."""
    open_inbox(config.partnership.inbox, SystemClock()).close()

    async def smtp():
        transport = open_transport(config.partnership.outgoing, SystemClock())
        try:
            await transport.connect()
        finally:
            await transport.close()

    asyncio.run(smtp())


def test_an_escalation_end_to_end_with_no_password_anywhere(idp, stack, app_id, tmp_path, monkeypatch):
    stack.send(intake_mail(), WORKER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    config = service_config(stack, tmp_path, monkeypatch, microsoft(idp, app_id))
    assert config.partnership.inbox.password() is None and config.partnership.outgoing.password() is None

    assert App.from_config(config, SystemClock()).run_once() == (1, 2)

    confirmation = email.message_from_bytes(stack.wait_for(WORKER, 1)[0], policy=email.policy.default)
    assert confirmation["From"].addresses[0].addr_spec == SENDING_ADDRESS
    stack.wait_for(OTHER, 1)
    assert len(stack.messages(INTAKE, "Processed")) == 1
    assert idp.issued(app_id) == 1  # one token, cached, for IMAP and SMTP alike


def test_a_token_the_server_refuses_is_refreshed_once_and_retried(idp, stack, app_id, tmp_path, monkeypatch):
    config = service_config(stack, tmp_path, monkeypatch, microsoft(idp, app_id))
    reach_both(config)
    assert idp.issued(app_id) == 1

    idp.expire_all()  # the service still believes its token good for an hour
    open_inbox(config.partnership.inbox, SystemClock()).close()
    assert idp.issued(app_id) == 2

    idp.expire_all()
    reach_both(config)  # SMTP refuses the cached token, gets a fresh one; IMAP then reuses it
    assert idp.issued(app_id) == 3


def test_a_token_is_replaced_before_it_expires(idp, stack, app_id, tmp_path, monkeypatch):
    config = service_config(stack, tmp_path, monkeypatch, microsoft(idp, app_id))
    idp.lifetime = 2.0
    try:
        open_inbox(config.partnership.inbox, SystemClock()).close()
        refusals = idp.introspections
        # Past half its life: the cache asks for a new one before using it. Real time must pass:
        # MSAL's token cache and the identity provider both read the real clock.
        time.sleep(1.2)
        open_inbox(config.partnership.inbox, SystemClock()).close()
    finally:
        idp.lifetime = 3600.0
    assert idp.issued(app_id) == 2
    assert idp.introspections == refusals + 1  # the new token was used at once, never refused


def test_a_refused_app_reports_the_identity_providers_words(idp, stack, app_id, tmp_path, monkeypatch):
    config = service_config(stack, tmp_path, monkeypatch, microsoft(idp, app_id))
    reach_both(config)
    idp.revoke(app_id)  # the secret was deleted in Entra ID

    with pytest.raises(TokenError, match=r"^AADSTS7000215: Invalid client secret provided") as caught:
        open_inbox(config.partnership.inbox, SystemClock())
    assert caught.value.error == "invalid_client"

    async def send():
        transport = open_transport(config.partnership.outgoing, SystemClock())
        try:
            await transport.send(intake_mail(), SENDING_ADDRESS, [WORKER])
        finally:
            await transport.close()

    with pytest.raises(TemporaryFailure, match="AADSTS7000215"):  # the mail waits in the outbox
        asyncio.run(send())


def test_the_app_opens_only_the_mailbox_it_was_granted(idp, stack, app_id, tmp_path, monkeypatch):
    config = service_config(stack, tmp_path, monkeypatch, microsoft(idp, app_id), username=BUSINESS)
    with pytest.raises(SignInRefused, match=f"microsoft app {app_id}"):
        open_inbox(config.partnership.inbox, SystemClock())


def test_check_says_which_sign_in_and_the_providers_error(idp, stack, app_id, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEST_OAUTH2_SECRET", SECRET)
    (tmp_path / "config.toml").write_text(_toml(stack, idp, app_id, tmp_path))

    assert check(str(tmp_path / "config.toml"), SystemClock()) == 0
    out = capsys.readouterr().out
    sign_in = f"oauth2 (microsoft app {app_id}, tenant {idp.tenant})"
    assert f"inbox    ok    imap tls 127.0.0.1:{stack.imaps_port} as {INTAKE}, signed in with {sign_in}" in out
    assert f"outgoing ok    smtp starttls 127.0.0.1:{stack.smtp_port} as {INTAKE}, signed in with {sign_in}" in out

    idp.revoke(app_id)
    assert check(str(tmp_path / "config.toml"), SystemClock()) == 1
    lines = capsys.readouterr().out.splitlines()
    for name in ("inbox   ", "outgoing"):
        [line] = [x for x in lines if x.startswith(name)]
        assert line.startswith(f"{name} FAIL")
        assert f"sign-in with {sign_in} FAILED: TokenError: AADSTS7000215: Invalid client secret provided." in line


def test_a_certificate_instead_of_a_secret(idp, stack, tmp_path, monkeypatch):
    stack.clear()
    client_id = f"cert-app-{uuid.uuid4()}"
    cert_pem, key_pem = _certificate(client_id)
    idp.register(client_id, INTAKE, certificate_pem=cert_pem)
    (tmp_path / "app.pem").write_bytes(key_pem + cert_pem)
    oauth2 = microsoft(idp, client_id, certificate_file=str(tmp_path / "app.pem"))
    del oauth2["client_secret_env"]
    config = service_config(stack, tmp_path, monkeypatch, oauth2)
    reach_both(config)
    assert idp.issued(client_id) == 1


def test_google_refresh_token(idp, stack, tmp_path, monkeypatch):
    stack.clear()
    client_id = f"{uuid.uuid4()}.apps.googleusercontent.com"
    idp.register(client_id, BUSINESS, secret="google-client-secret", refresh_token="1//refresh-token")
    monkeypatch.setenv("TEST_GOOGLE_REFRESH", "1//refresh-token")
    (tmp_path / "google-secret").write_text("google-client-secret\n")
    oauth2 = {"provider": "google", "client_id": client_id, "client_secret_file": "google-secret",
              "refresh_token_env": "TEST_GOOGLE_REFRESH", "token_url": idp.token_url, "ca_file": str(idp.ca_file)}
    config = service_config(stack, tmp_path, monkeypatch, oauth2, username=BUSINESS)
    reach_both(config)
    assert idp.issued(client_id) == 1

    idp.revoke(client_id)  # the user withdrew consent
    with pytest.raises(TokenError, match="^Token has been expired or revoked.") as caught:
        open_inbox(config.partnership.inbox, SystemClock())
    assert caught.value.error == "invalid_grant"


def test_passwords_still_work_and_are_no_bearer_tokens(stack):
    stack.imap(WORKER).logout()
    client = IMAPClient(stack.host, port=stack.imaps_port, ssl=True, ssl_context=stack.ssl_context())
    try:
        with pytest.raises(LoginError):
            client.oauth2_login(WORKER, stack.password)
    finally:
        client.shutdown()


def _toml(stack, idp, app_id, tmp_path) -> str:
    server = (f'host = "127.0.0.1"\nusername = "{INTAKE}"\nca_file = "{stack.ca_file}"\nauth = "oauth2"\n'
              f'oauth2.tenant = "{idp.tenant}"\noauth2.client_id = "{app_id}"\n'
              f'oauth2.client_secret_env = "TEST_OAUTH2_SECRET"\noauth2.authority = "{idp.authority}"\n'
              f'oauth2.ca_file = "{idp.ca_file}"\n')
    return (f'[partnership]\nid = "oauth"\naddress = "{SENDING_ADDRESS}"\n'
            f'[database]\nurl = "sqlite:///{tmp_path / "cases.db"}"\nurl_env = ""\n'
            f'[inbox]\nkind = "imap"\nport = {stack.imaps_port}\n{server}'
            f'[outgoing]\nkind = "smtp"\nport = {stack.smtp_port}\nsecurity = "starttls"\n{server}'
            '[security]\nreceiving_server = "none"\n')  # the test Postfix writes no verdict


def _certificate(name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate as uploaded to the app registration, and its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
