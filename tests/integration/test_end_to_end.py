"""One escalation end to end through real Postfix and Dovecot on loopback.

A worker sends an escalation through Postfix; the service reads it over IMAPS (certificate
checked against the test CA), opens a case, and its mail travels back through Postfix
(STARTTLS + AUTH) into the worker's and the other party's own mailboxes.
"""
from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlmodel import Session, select

from tests.helpers.stack import INTAKE, OTHER, WORKER, intake_mail, service_config
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.storage.models import Case, InboundMessage, OutboxMail


def subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


@pytest.fixture
def stack(mailstack):
    mailstack.clear()
    yield mailstack


def test_one_escalation_end_to_end(stack, tmp_path, monkeypatch):
    stack.send(intake_mail(), WORKER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app = App.from_config(service_config(stack, tmp_path, monkeypatch), SystemClock())

    handled, sent = app.run_once()
    assert (handled, sent) == (1, 2)

    with Session(app.engine) as s:
        case = s.exec(select(Case)).one()
        inbound = s.exec(select(InboundMessage)).one()
    assert re.fullmatch(r"ESC-\d{4}-\d{4}", case.ref)
    assert case.client_reference == "CH-7731-TEST" and case.stage == "1"
    assert inbound.case_id == case.id and inbound.raw and b"CH-7731-TEST" in inbound.raw

    confirmation = stack.wait_for(WORKER, 1)[0]
    notice = stack.wait_for(OTHER, 1)[0]
    assert f"[{case.ref}]" in subject(confirmation)
    assert f"[{case.ref}]" in subject(notice)
    parsed = email.message_from_bytes(confirmation, policy=email.policy.default)
    assert parsed["Auto-Submitted"].startswith("auto-")
    assert case.ref in parsed["Message-ID"]
    assert stack.messages(INTAKE) == []
    assert len(stack.messages(INTAKE, "Processed")) == 1

    # A second run finds nothing new and sends nothing twice.
    assert app.run_once() == (0, 0)
    with Session(app.engine) as s:
        assert len(s.exec(select(OutboxMail)).all()) == 2
        assert len(s.exec(select(Case)).all()) == 1


def test_reply_from_the_other_party_moves_the_case(stack, tmp_path, monkeypatch):
    stack.send(intake_mail(), WORKER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app = App.from_config(service_config(stack, tmp_path, monkeypatch), SystemClock())
    app.run_once()
    notice = email.message_from_bytes(stack.wait_for(OTHER, 1)[0], policy=email.policy.default)

    reply = EmailMessage()
    reply["From"] = f"Drew Sample <{OTHER}>"
    reply["To"] = INTAKE
    reply["Subject"] = "RE: " + str(notice["Subject"])
    reply["Message-ID"] = make_msgid(domain="health.example.test")
    reply["In-Reply-To"] = notice["Message-ID"]
    reply["References"] = notice["Message-ID"]
    reply.set_content("Acknowledged - looking at the records today.\n\n> earlier message\n")
    stack.send(reply.as_bytes(), OTHER, [INTAKE])
    stack.wait_for(INTAKE, 1)

    assert app.run_once() == (1, 1)
    with Session(app.engine) as s:
        case = s.exec(select(Case)).one()
    assert case.acknowledged_at is not None
    mails = stack.wait_for(WORKER, 2)
    assert any("acknowledged" in subject(m).lower() for m in mails)


def test_mail_from_a_stranger_is_quarantined_and_not_answered(stack, tmp_path, monkeypatch):
    stranger = "stranger@elsewhere.example.test"
    msg = intake_mail().replace(WORKER.encode(), stranger.encode())
    stack.send(msg, stranger, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app = App.from_config(service_config(stack, tmp_path, monkeypatch), SystemClock())

    assert app.run_once() == (1, 0)
    assert len(stack.messages(INTAKE, "Quarantine")) == 1
    with Session(app.engine) as s:
        assert s.exec(select(Case)).all() == []
        assert "outside_partners" in s.exec(select(InboundMessage)).one().reason
    assert stack.messages(stranger) == []


def test_the_mailbox_over_imap_starttls(stack, tmp_path, monkeypatch):
    cfg = service_config(stack, tmp_path, monkeypatch)
    inbox = cfg.partnership.inbox
    starttls = type(inbox)(**{**inbox.__dict__, "security": "starttls", "port": stack.imap_port})
    partnership = type(cfg.partnership)(**{**cfg.partnership.__dict__, "inbox": starttls})
    app = App.from_config(type(cfg)(**{**cfg.__dict__, "partnership": partnership}), SystemClock())
    stack.send(intake_mail(), WORKER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    assert app.run_once() == (1, 2)
    assert len(stack.messages(INTAKE, "Processed")) == 1


def test_a_server_certificate_from_an_unknown_ca_is_refused(stack, tmp_path, monkeypatch):
    import ssl

    import pytest

    cfg = service_config(stack, tmp_path, monkeypatch)
    inbox = cfg.partnership.inbox
    system_store = type(inbox)(**{**inbox.__dict__, "ca_file": None})
    partnership = type(cfg.partnership)(**{**cfg.partnership.__dict__, "inbox": system_store})
    app = App.from_config(type(cfg)(**{**cfg.__dict__, "partnership": partnership}), SystemClock())
    with pytest.raises(ssl.SSLCertVerificationError):
        app.run_once()
