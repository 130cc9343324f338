"""The service configured for the session's mail stack (IMAPS in, STARTTLS + AUTH out, its own
SQLite), and the intake a worker sends through it: shared by the end-to-end, scenario and
OAuth tests."""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import make_msgid

from tracker.config.load import config_from_dict

INTAKE = "intake@partnership.example.test"
WORKER = "worker@council.example.test"
OTHER = "other@health.example.test"

BODY = f"""Case reference: CH-7731-TEST
About: child
Immediate risk: no
Category: threshold / level of need
Raised by: Casey Tester, Social Worker, Example Council <{WORKER}>
My manager: Morgan Tester <manager@council.example.test>
Disagreement with: Drew Sample, Health Visitor, Example Health <{OTHER}>
Their manager: Riley Sample <othermanager@health.example.test>
Decision disputed: Referral for an early help assessment declined.
Date of decision: 20/11/2026
Reasons: Repeated missed health appointments and a nursery report of concern.
Outcome sought: An early help assessment started.

Kind regards
Casey
"""


def service_config(mailstack, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_MAIL_PASSWORD", mailstack.password)
    server = {"host": "127.0.0.1", "username": INTAKE, "password_env": "TEST_MAIL_PASSWORD",
              "ca_file": str(mailstack.ca_file)}
    return config_from_dict({
        "partnership": {"id": "e2e", "address": INTAKE, "business_support": ["business@partnership.example.test"],
                        "partner_domains": ["partnership.example.test", "council.example.test",
                                            "health.example.test"]},
        "database": {"url": f"sqlite:///{tmp_path / 'cases.db'}", "url_env": ""},
        "inbox": {"kind": "imap", "port": mailstack.imaps_port, "security": "tls", **server},
        "outgoing": {"kind": "smtp", "port": mailstack.smtp_port, "security": "starttls", **server},
        # the test Postfix writes no Authentication-Results: these tests are about the workflow;
        # tests/integration/test_spoofing.py is about authentication, with the receivers' headers
        "security": {"receiving_server": "none"},
    }, base=tmp_path)


def intake_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Casey Tester <{WORKER}>"
    msg["To"] = INTAKE
    msg["Subject"] = "Escalation: early help declined"
    msg["Message-ID"] = make_msgid(domain="council.example.test")
    msg.set_content(BODY)
    return msg.as_bytes()


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def reply_to(received: bytes, sender: str, text: str, headers: dict | None = None) -> bytes:
    """What a mail client does: Re: the subject, thread on its Message-ID, quote it below."""
    original = parsed(received)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = str(original["Reply-To"] or original["From"])
    msg["Subject"] = "RE: " + str(original["Subject"])
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    msg["In-Reply-To"] = original["Message-ID"]
    msg["References"] = original["Message-ID"]
    for k, v in (headers or {}).items():
        msg[k] = v
    quoted = "\n".join("> " + line for line in original.get_body(("plain",)).get_content().splitlines()[:20])
    msg.set_content(f"{text}\n\nSent from my phone\n\n-----Original Message-----\n{quoted}\n")
    return msg.as_bytes()
