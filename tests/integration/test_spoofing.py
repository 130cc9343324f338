"""Issue 16's spoofing attacks as a table, through real Postfix and Dovecot.

Each row is one message as an attacker (or, in the last rows, a party) sends it, delivered
over LMTP into the partnership's real Dovecot mailbox carrying what
the receiving server writes on top as it accepts it: its `Received` line and its verdict
(`Authentication-Results`) in that server's own shape (Exchange Online: no authserv-id,
compauth; Google: mx.google.com; a self-hosted MX: its authserv-id). Whatever the attacker
wrote lies below. The service reads it over IMAPS and each row says where it goes: its
quarantine reason (or how it acted), whether any case changed (new cases, new record
entries) and how many mails were sent.

The table runs against the shipped configuration's [security] (receiving_server left out:
nothing can be confirmed, so nothing acts and nobody is told; the messages are Microsoft-
shaped, as most partnerships' mail is), and against Microsoft 365-, Google- and self-hosted-
shaped ones. A case is opened first (through Microsoft, pass) for the replies to aim at.

A partner address the receiving server did not confirm gets one note a day
(tracker/incoming/authenticity.py): rows 7 and 16b are the first of their day for the party
they name, so they carry the one mail; the later ones carry none. Row 6 is the one note of
its own kind (sent on someone's behalf).
"""
from __future__ import annotations

import smtplib
import tomllib
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from tests.helpers.stack import BODY, INTAKE, OTHER, WORKER, service_config
from tracker.config.load import config_from_dict
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail

ROOT = Path(__file__).resolve().parents[2]
ATTACKER = "attacker@evil.example"
RECEIVER_ID = {"google": "mx.google.com", "self-hosted": "mx.partnership.example.test"}
RECEIVER_HOST = {"microsoft": "AM0PR01MB1234.eurprd01.prod.outlook.com", "google": "mx.google.com",
                 "self-hosted": "mx.partnership.example.test"}
SHIPPED = tomllib.loads((ROOT / "config.toml").read_text())["security"]
SECURITY = {"shipped": SHIPPED, "microsoft": {"receiving_server": "microsoft"},
            "google": {"receiving_server": "google"},
            "self-hosted": {"receiving_server": "self-hosted", "authserv_id": RECEIVER_ID["self-hosted"]}}
SHAPE = {"shipped": "microsoft", "microsoft": "microsoft", "google": "google", "self-hosted": "self-hosted"}


def verdict(shape: str, *results: str) -> str:
    """An Authentication-Results value as the receiver `shape` writes it."""
    if shape == "microsoft":
        return ";".join(results) + ";compauth=pass reason=100" * (not any("compauth" in r for r in results))
    return f"{RECEIVER_ID[shape]};\r\n       " + ";\r\n       ".join(results)


def dmarc(result: str, domain: str) -> str:
    return f"dmarc={result} (p=REJECT sp=REJECT dis=NONE) header.from={domain}"


def message(from_lines: str, body: str, *, extra: str = "", in_reply_to: str | None = None,
            subject: str = "RE: [case] notice") -> bytes:
    """What the sender's side hands over: its header block, as written (raw, so that two From
    headers, a route address or a quoted local part stay exactly as the attacker put them)."""
    thread = f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n" if in_reply_to else ""
    return (f"{from_lines}\r\n{extra}To: {INTAKE}\r\nSubject: {subject}\r\n{thread}"
            f"Message-ID: {make_msgid(domain='evil.example')}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def received(shape: str, raw: bytes, *results: str, arc: str | None = None) -> bytes:
    """The message as the receiving server passes it on: its Received line and its verdict on top."""
    top = f"Received: from mail.evil.example (203.0.113.9) by {RECEIVER_HOST[shape]} with ESMTPS; " \
          f"Wed, 2 Dec 2026 10:00:00 +0000\r\n"
    if results:
        top = f"Authentication-Results: {verdict(shape, *results)}\r\n" + top
    if arc:
        top = f"ARC-Authentication-Results: {arc}\r\n" + top
    return top.encode() + raw


HEALTH_PASS = dmarc("pass", "health.example.test")
HEALTH_FAIL = dmarc("fail", "health.example.test")
FORGED_PASS = f"Authentication-Results: mx.partnership.example.test; {HEALTH_PASS}\r\n" \
              f"Authentication-Results: spf=pass smtp.mailfrom=health.example.test;{HEALTH_PASS};compauth=pass\r\n"
ENCODED = "=?utf-8?q?Drew_Sample_=3Cother=40health.example.test=3E?="


def rows(notice: str):
    """(name, the message as delivered for receiver shape s, expected when authentication applies,
    expected under the shipped settings); expected = (reason or action, case changed, mails sent)."""
    reply = lambda f, extra="": message(f, "ESCALATE: not agreed", extra=extra, in_reply_to=notice)  # noqa: E731
    nobody = ("unauthenticated", False, 0)
    return [
        ("1 encoded-word From holding a party's address", lambda s: received(
            s, reply(f"From: {ENCODED} <{ATTACKER}>"), dmarc("pass", "evil.example")),
         ("ambiguous_sender", False, 0), ("ambiguous_sender", False, 0)),
        ("2 two From headers", lambda s: received(s, reply(f"From: {OTHER}\r\nFrom: {ATTACKER}"), HEALTH_PASS),
         ("ambiguous_sender", False, 0), ("ambiguous_sender", False, 0)),
        ("3 a From list", lambda s: received(s, reply(f"From: {OTHER}, {ATTACKER}"), HEALTH_PASS),
         ("ambiguous_sender", False, 0), ("ambiguous_sender", False, 0)),
        ("4 a route address", lambda s: received(s, reply(f"From: Drew <@evil.example:{OTHER}>"), HEALTH_PASS),
         ("ambiguous_sender", False, 0), ("ambiguous_sender", False, 0)),
        ("5 a quoted local part and a comment holding the party", lambda s: received(
            s, reply(f'From: "{OTHER}"@evil.example ({OTHER})'), dmarc("pass", "evil.example")),
         ("ambiguous_sender", False, 0), ("ambiguous_sender", False, 0)),
        ("6 Sender other than From: the party is asked to send from their own address", lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>", extra=f"Sender: {ATTACKER}\r\n"), HEALTH_PASS),
         ("ambiguous_sender", False, 1), ("ambiguous_sender", False, 0)),
        ("7 no Authentication-Results at all: the party is told, once today", lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>")), ("unauthenticated", False, 1), nobody),
        ("8 SPF and DKIM pass for the attacker's own domain, no DMARC", lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>"), "spf=pass smtp.mailfrom=evil.example",
            "dkim=pass header.d=evil.example"), ("unauthenticated", False, 0), nobody),
        ("9 DMARC passes, for the attacker's own domain", lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>"), dmarc("pass", "evil.example")),
         ("unauthenticated", False, 0), nobody),
        ("10 forged passes, in every receiver's shape, below the receiver's fail", lambda s: received(
            s, FORGED_PASS.encode() + reply(f"From: Drew Sample <{OTHER}>"), HEALTH_FAIL),
         ("unauthenticated", False, 0), nobody),
        ("10b the receiver gave no DMARC result (no policy published); a pass in its name below", lambda s: received(
            s, (f"Authentication-Results: {verdict(s, HEALTH_PASS)}\r\n").encode() + reply(f"From: Drew Sample <{OTHER}>"),
            "spf=pass smtp.mailfrom=evil.example", "dkim=pass header.d=evil.example"),
         ("unauthenticated", False, 0), nobody),
        ("11 a pass from another server above the receiver's fail", lambda s: (
            f"Authentication-Results: relay.evil.example; {HEALTH_PASS}\r\n".encode()
            + received(s, reply(f"From: Drew Sample <{OTHER}>"), HEALTH_FAIL)),
         ("unauthenticated", False, 0), nobody),
        ('12 quoted "x;dmarc=pass" in a value', lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>"),
            'spf=pass smtp.mailfrom="x;dmarc=pass header.from=health.example.test"@evil.example', HEALTH_FAIL),
         ("unauthenticated", False, 0), nobody),
        ("13 two DMARC results, the first a pass", lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>"), HEALTH_PASS, HEALTH_FAIL), ("unauthenticated", False, 0), nobody),
        ("14 compauth=fail beside a DMARC pass (Exchange's shape)", lambda s: received(
            "microsoft", reply(f"From: Drew Sample <{OTHER}>"), HEALTH_PASS, "compauth=fail reason=000"),
         ("unauthenticated", False, 0), nobody),
        ("15 ARC from a server that is not Microsoft, no Authentication-Results", lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>"), arc=f"i=2; relay.evil.example 1; {HEALTH_PASS}").replace(
            b"Received:", f"ARC-Authentication-Results: i=1; mx.microsoft.com 1; {HEALTH_PASS}\r\nReceived:".encode(), 1),
         ("unauthenticated", False, 0), nobody),
        ("16 the encoded-word disguise, its DMARC for the attacker's domain", lambda s: received(
            s, message(f"From: {ENCODED} <{ATTACKER}>", "WITHDRAW", in_reply_to=notice), dmarc("pass", "evil.example")),
         ("ambiguous_sender", False, 0), ("ambiguous_sender", False, 0)),
        ("16b a forged escalation in a worker's name: nothing opens; the worker is told, once today",
         lambda s: received(s, message(f"From: Casey Tester <{WORKER}>", BODY.replace("CH-7731", "CH-6666"),
                                       subject="Escalation: early help declined"), dmarc("fail", "council.example.test")),
         ("unauthenticated", False, 1), nobody),
        ("17 the party's real reply: the case moves", lambda s: received(
            s, reply(f"From: Drew Sample <{OTHER}>"), "spf=pass smtp.mailfrom=health.example.test",
            "dkim=pass header.d=health.example.test", HEALTH_PASS), ("escalated (applied)", True, 4), nobody),
        ("18 a worker's real escalation: a case opens", lambda s: received(
            s, message(f"From: Casey Tester <{WORKER}>", BODY.replace("CH-7731", "CH-7732"),
                       subject="Escalation: early help declined"), dmarc("pass", "council.example.test")),
         ("opened", True, 2), nobody),
        ("19 a forged WITHDRAW from the raiser: already told today (16b)", lambda s: received(
            s, message(f"From: Casey Tester <{WORKER}>", "WITHDRAW", in_reply_to=notice),
            dmarc("fail", "council.example.test")), ("unauthenticated", False, 0), nobody),
    ]


def changes(app: App) -> tuple[int, int]:
    with Session(app.engine) as s:
        return s.exec(select(func.count()).select_from(Case)).one(), s.exec(select(func.count()).select_from(Event)).one()


def deliver(stack, raw: bytes) -> None:
    """Into the mailbox as the receiving server hands it on: over LMTP to Dovecot, byte for
    byte. (Through the test Postfix, its cleanup would tidy the attacker's From first: a route
    address <@relay:user@domain> arrives as user@domain, which Exchange or Gmail never do.)"""
    before = len(stack.messages(INTAKE))
    with smtplib.LMTP(stack.host, stack.lmtp_port, timeout=30) as lmtp:
        assert lmtp.sendmail(ATTACKER, [INTAKE], raw) == {}
    stack.wait_for(INTAKE, before + 1)


def app_with(stack, tmp_path, monkeypatch, security: dict) -> App:
    base = service_config(stack, tmp_path, monkeypatch)
    data = {"partnership": {"id": "e2e", "address": INTAKE, "business_support": ["business@partnership.example.test"],
                            "partner_domains": list(base.partnership.partner_domains)},
            "database": {"url": base.database_url, "url_env": ""},
            "inbox": {"kind": "imap", "host": "127.0.0.1", "port": base.partnership.inbox.port, "security": "tls",
                      "username": INTAKE, "password_env": "TEST_MAIL_PASSWORD", "ca_file": str(stack.ca_file)},
            "outgoing": {"kind": "smtp", "host": "127.0.0.1", "port": base.partnership.outgoing.port,
                         "security": "starttls", "username": INTAKE, "password_env": "TEST_MAIL_PASSWORD",
                         "ca_file": str(stack.ca_file)},
            "security": security}
    return App.from_config(config_from_dict(data, base=tmp_path), SystemClock())


def opened_case(stack, tmp_path, monkeypatch) -> str:
    """A case to aim at, opened through Microsoft with a pass; the Message-ID of its notice."""
    seeder = app_with(stack, tmp_path, monkeypatch, SECURITY["microsoft"])
    deliver(stack, received("microsoft", message(f"From: Casey Tester <{WORKER}>", BODY,
                                                 subject="Escalation: early help declined"),
                            dmarc("pass", "council.example.test")))
    assert seeder.run_once() == (1, 2)
    with Session(seeder.engine) as s:
        notice = s.exec(select(OutboxMail).where(OutboxMail.kind == "notice")).one().message_id
    seeder.engine.dispose()
    return notice


@pytest.mark.parametrize("config", ["shipped", "microsoft", "google", "self-hosted"])
def test_the_spoofing_table(mailstack, tmp_path, monkeypatch, config):
    assert "receiving_server" not in SHIPPED  # the shipped file leaves it out, until a deployment chooses
    mailstack.clear()
    notice = opened_case(mailstack, tmp_path, monkeypatch)
    app = app_with(mailstack, tmp_path, monkeypatch, SECURITY[config])
    seen, wanted = [], []
    for name, build, applies, shipped in rows(notice):
        before = changes(app)
        deliver(mailstack, build(SHAPE[config]))
        handled, sent = app.run_once()
        assert handled == 1, name
        with Session(app.engine) as s:
            row = s.exec(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        way = next((w for w in ("ambiguous_sender", "unauthenticated", "escalated (applied)") if w in row.reason),
                   "opened" if row.kind == "intake" and row.case_id else row.reason)
        seen.append((name, way, changes(app) != before, sent))
        wanted.append((name, *(shipped if config == "shipped" else applies)))
    assert seen == wanted
    moved = sum(1 for _, _, changed, _ in seen if changed)
    assert (moved, sum(n for *_, n in seen)) == ((0, 0) if config == "shipped" else (2, 9))
    the_check_reads_this_mailbox(app, config)


def the_check_reads_this_mailbox(app: App, config: str) -> None:
    """`escalations check` reads the newest headers of each folder over IMAP: mail carrying
    the named receiver's verdict, or none of it (Exchange-shaped mail, Google named)."""
    from tracker.cli.check import _verdicts_in_mailbox

    p = app.partnership
    if config == "shipped":
        google = replace(p.security, receiving_server="google", authserv_ids=("mx.google.com",))
        _, ok, said = _verdicts_in_mailbox(replace(p, security=google), SystemClock())
        assert not ok and said.startswith("authentication cannot be applied to this mailbox: 0 of the newest 6 "), said
    else:  # the newest 5 of Quarantine and the 3 in Processed; rows 14 and 15 carry no Google or MX verdict
        _, ok, said = _verdicts_in_mailbox(p, SystemClock())
        assert ok and said.startswith({"microsoft": "7", "google": "5", "self-hosted": "5"}[config]
                                      + " of the newest 8 messages carry "), said
