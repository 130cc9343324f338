"""Smoke tests of the integration harness itself: the servers are real and configured as the
rest of the suite assumes (TLS verified against the test CA, AUTH, no open relay, LMTP delivery)."""

from __future__ import annotations

import email
import email.policy
import smtplib
import ssl
import uuid

import pytest
from imapclient import IMAPClient

SENDER = "worker@council.example.test"
RECIPIENT = "other@health.example.test"


def _message(sender: str, to: str, subject: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@council.example.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Concern about a child, please escalate.\r\n"
    ).encode()


@pytest.fixture
def ms(mailstack):
    mailstack.clear()
    return mailstack


def test_mail_through_postfix_starttls_auth_arrives_over_imaps(ms):
    subject = f"harness smoke {uuid.uuid4()}"
    refused = ms.send(_message(SENDER, RECIPIENT, subject), SENDER, [RECIPIENT])
    assert refused == {}

    [raw] = ms.wait_for(RECIPIENT, 1)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == subject
    assert msg["Delivered-To"] == RECIPIENT
    # Postfix recorded the TLS session and the SASL login of the submission.
    received = " ".join(msg.get_all("Received"))
    assert "ESMTPSA" in received, received

    # Read once more over IMAPS explicitly, with the test CA and host-name verification.
    client = ms.imap(RECIPIENT)
    try:
        assert client._imap.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
    finally:
        client.logout()


def test_imap_starttls_on_plain_port(ms):
    client = ms.imap(RECIPIENT, starttls=True)
    try:
        assert client._imap.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert "INBOX" in [f[2] for f in client.list_folders()]
    finally:
        client.logout()


def test_localhost_name_also_matches_certificate(ms):
    ctx = ms.ssl_context()
    with IMAPClient("localhost", port=ms.imaps_port, ssl=True, ssl_context=ctx, timeout=10) as client:
        client.login(RECIPIENT, ms.password)
        client.logout()


def test_default_ca_store_rejects_test_certificate(ms):
    """Verification is really on: without the test CA the handshake must fail."""
    system_ctx = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(ms.host, port=ms.imaps_port, ssl=True, ssl_context=system_ctx, timeout=10)
    with smtplib.SMTP(ms.host, ms.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        with pytest.raises(ssl.SSLCertVerificationError):
            smtp.starttls(context=system_ctx)


def test_auth_only_after_starttls_and_wrong_password_refused(ms):
    with smtplib.SMTP(ms.host, ms.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth"), "AUTH must not be offered before STARTTLS"
        smtp.starttls(context=ms.ssl_context())
        smtp.ehlo()
        assert smtp.has_extn("auth")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(SENDER, "wrong password")
    with pytest.raises(IMAPClient.Error):
        ms.imap(RECIPIENT, password="wrong password")


@pytest.mark.parametrize("authenticate", [False, True])
def test_relay_outside_configured_domains_refused(ms, authenticate):
    outside = "someone@example.com"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
        ms.send(_message(SENDER, outside, "relay attempt"), SENDER, [outside], authenticate=authenticate)
    code, text = exc.value.recipients[outside]
    assert code == 554 and b"Relay access denied" in text, (code, text)
    assert ms.queue_size() == 0


def test_unknown_user_in_configured_domain_refused(ms):
    nobody = "nobody@council.example.test"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
        ms.send(_message(SENDER, nobody, "unknown user"), SENDER, [nobody])
    assert exc.value.recipients[nobody][0] == 550


def test_unauthenticated_inbound_to_local_domain_is_delivered(ms):
    """Like an outside MX: anyone may deliver to the configured domains without AUTH."""
    intake = "intake@partnership.example.test"
    ms.send(_message("parent@gmail.example", intake, "from outside"), "parent@gmail.example", [intake],
            authenticate=False)
    [raw] = ms.wait_for(intake, 1)
    assert b"from outside" in raw


def test_wait_for_times_out_with_what_it_saw(ms):
    with pytest.raises(AssertionError, match=r"saw 0"):
        ms.wait_for(RECIPIENT, 1, timeout=0.3)


def test_clear_empties_mailbox_and_folders(ms):
    user = "manager@council.example.test"
    ms.send(_message(SENDER, user, "one"), SENDER, [user])
    ms.send(_message(SENDER, user, "two"), SENDER, [user])
    ms.wait_for(user, 2)
    client = ms.imap(user)
    try:
        client.create_folder("Processed")
        client.create_folder("Quarantine")
        client.create_folder("Processed/2026")
        client.select_folder("INBOX")
        client.copy(client.search("ALL"), "Processed/2026")
    finally:
        client.logout()
    assert ms.folders(user) == ["INBOX", "Processed", "Processed/2026", "Quarantine"]
    assert len(ms.messages(user, "Processed/2026")) == 2

    ms.clear(user)

    assert ms.folders(user) == ["INBOX"]
    assert ms.messages(user) == []


def test_postgres_accepts_connection_and_query(postgres):
    import psycopg

    with psycopg.connect(postgres.dsn) as conn:
        assert conn.execute("SELECT current_database(), 40 + 2").fetchone() == ("escalations", 42)
    url = postgres.new_database("harness_smoke")
    assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:") and url.endswith("/harness_smoke")
    with postgres.connect("harness_smoke") as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (1)")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_postgres_url_works_with_sqlmodel(postgres):
    from sqlalchemy import text
    from sqlmodel import create_engine

    engine = create_engine(postgres.url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_fault_controls(ms):
    """stop_postfix/start_postfix and restart_dovecot, for the crash tests. Note: Postfix
    authenticates through Dovecot, so while Dovecot is down SMTP sessions fail too."""
    ms.stop_postfix()
    assert not ms.postfix_running
    with pytest.raises(ConnectionRefusedError):
        ms.send(_message(SENDER, RECIPIENT, "while down"), SENDER, [RECIPIENT])
    ms.start_postfix()
    ms.send(_message(SENDER, RECIPIENT, "after restart"), SENDER, [RECIPIENT])
    ms.wait_for(RECIPIENT, 1)

    client = ms.imap(RECIPIENT)
    client.select_folder("INBOX")
    old_pid = ms.dovecot_pid
    ms.restart_dovecot()
    assert ms.dovecot_running and ms.dovecot_pid != old_pid
    with pytest.raises((IMAPClient.AbortError, OSError)):
        client.noop()  # the session did not survive the restart
    [raw] = ms.messages(RECIPIENT)  # mail did
    assert b"after restart" in raw
