"""[security] receiving_server: whose verdict confirms a sender, the safe default when it is
left out, the old keys, what `escalations check` says, and what a refused sender is told.
(The verdict itself: tests/test_parser_authres.py; the attacks against real Dovecot:
tests/integration/test_spoofing.py.)"""
from __future__ import annotations

import pytest
from sqlmodel import Session, select

from tests.helpers.harness import Harness
from tests.helpers.mail import OTHER, WORKER, intake, mail
from tracker.config.load import config_from_dict
from tracker.incoming.authenticity import NOT_SET, ambiguity
from tracker.storage.models import Case, InboundMessage, OutboxMail
from parser.head import read_head

MX = "mx.partnership.example.test"
PASS = f"{MX}; dmarc=pass header.from=council.example.test"
FAIL = f"{MX}; dmarc=fail header.from=council.example.test"
SELF_HOSTED = {"receiving_server": "self-hosted", "authserv_id": MX}


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


def with_auth(raw: bytes, value: str) -> bytes:
    return f"Authentication-Results: {value}\r\n".encode() + raw


def security_of(table: dict, tmp_path):
    return config_from_dict({"security": table} if table is not None else {}, base=tmp_path).partnership.security


@pytest.mark.parametrize("table, server, ids, migrated", [
    (None, "", (), ""),  # left out: nobody's word, so nothing is confirmed
    ({}, "", (), ""),
    ({"receiving_server": "none"}, "none", (), ""),
    ({"receiving_server": "microsoft"}, "microsoft", (), ""),
    ({"receiving_server": "google"}, "google", ("mx.google.com",), ""),
    ({"receiving_server": "self-hosted", "authserv_id": "MX.Example.test"}, "self-hosted", ("mx.example.test",), ""),
    ({"receiving_server": "self-hosted", "authserv_id": ["mx1.example.test", "mx2.example.test"]}, "self-hosted",
     ("mx1.example.test", "mx2.example.test"), ""),
    ({"trusted_authserv_ids": [MX], "require_authentication": False}, "self-hosted", (MX,),
     f'read as receiving_server = "self-hosted", authserv_id = ["{MX}"]'),
    ({"trusted_authserv_ids": ["mx.google.com"]}, "google", ("mx.google.com",), 'read as receiving_server = "google"'),
])
def test_the_receiving_server_setting(tmp_path, table, server, ids, migrated):
    sec = security_of(table, tmp_path)
    assert (sec.receiving_server, sec.authserv_ids, sec.migrated) == (server, ids, migrated)


def test_the_old_empty_list_that_trusted_any_from_says_what_to_write(tmp_path):
    from tracker.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        security_of({"trusted_authserv_ids": [], "require_authentication": False}, tmp_path)
    assert "\n" not in str(err.value) and 'receiving_server = "microsoft", "google" or "self-hosted"' in str(err.value)


def test_left_out_nothing_opens_or_moves_and_nobody_is_told(tmp_path, clock):
    h = Harness(tmp_path, clock, extra={"security": {"receiving_server": ""}})
    h.deliver(with_auth(intake(), PASS))  # even a pass: no receiver is trusted, so anyone could have written it
    assert h.run() == (1, 0)
    assert rows(h, Case) == []
    [row] = rows(h, InboundMessage)
    assert row.disposition == "quarantine" and f"{NOT_SET}; its body was not read" in row.reason  # judged on its head


def test_none_believes_any_from(tmp_path, clock):
    h = Harness(tmp_path, clock, extra={"security": {"receiving_server": "none"}})
    h.deliver(with_auth(intake(), FAIL))
    h.run()
    assert len(rows(h, Case)) == 1


def test_a_failed_sender_is_told_once_a_day_and_nothing_of_the_message_is_repeated(tmp_path, clock):
    h = Harness(tmp_path, clock, extra={"security": SELF_HOSTED})
    lure = "Your password expires: sign in at http://evil.example/login"
    for n in range(3):
        h.deliver(with_auth(mail(f"Casey Tester <{WORKER}>", f"{lure} {n}", "WITHDRAW"), FAIL))
    h.deliver(with_auth(mail("Eve <eve@evil.example>", "Escalation", "x"), f"{MX}; dmarc=fail header.from=evil.example"))
    h.run()
    notes = [o for o in rows(h, OutboxMail) if o.kind == "sender_not_confirmed"]
    assert [o.recipient for o in notes] == [WORKER]  # once that day; never outside the partner agencies
    assert b"evil.example" not in notes[0].raw and b"password" not in notes[0].raw
    reasons = sorted(r.reason for r in rows(h, InboundMessage))  # judged on the head alone: none was read
    assert reasons[0].startswith("outside_partners") and all(r.startswith("unauthenticated") for r in reasons[1:])
    assert all(r.endswith("its body was not read") for r in reasons)
    assert sum("; sender told" in r for r in reasons) == 1
    clock.now = clock.now.replace(day=clock.now.day + 1)
    h.deliver(with_auth(mail(WORKER, "again", "WITHDRAW"), FAIL))
    h.run()
    assert len([o for o in rows(h, OutboxMail) if o.kind == "sender_not_confirmed"]) == 2


@pytest.mark.parametrize("sender_lines, told", [
    # sent on a party's behalf, and the receiving server confirmed the From domain: asked to send from their own
    (f"From: Drew Sample <{OTHER}>\r\nSender: pa.office@health.example.test\r\n", OTHER),
    (f"From: Drew Sample <{OTHER}>\r\nFrom: eve@evil.example\r\n", None),
    (f"From: {OTHER}, eve@evil.example\r\n", None),
    (f"From: Drew <@evil.example:{OTHER}>\r\n", None),
    (f'From: "{OTHER}"@evil.example\r\n', None),
    (f"From: eve@evil.example ({OTHER})\r\n", None),
    (f"From: =?utf-8?q?Drew_=3C{OTHER.replace('@', '=40')}=3E?= <eve@evil.example>\r\n", None),
])
def test_an_ambiguous_sender_moves_nothing_and_only_a_delegate_s_principal_is_told(tmp_path, clock, sender_lines, told):
    h = Harness(tmp_path, clock, extra={"security": SELF_HOSTED})
    h.deliver(with_auth(intake(), PASS))
    h.run()
    notice = next(o for o in rows(h, OutboxMail) if o.kind == "notice")
    before = len(rows(h, OutboxMail))
    reply = (f"{sender_lines}To: escalations@partnership.example.test\r\nSubject: RE: case\r\n"
             f"In-Reply-To: <{notice.message_id}>\r\nMessage-ID: <r1@health.example.test>\r\n\r\nESCALATE\r\n")
    h.deliver(with_auth(reply.encode(), f"{MX}; dmarc=pass header.from=health.example.test"))
    h.run()
    case = rows(h, Case)[0]
    assert case.stage == "1"
    row = rows(h, InboundMessage)[-1]
    assert row.disposition == "quarantine" and row.reason.startswith("ambiguous_sender")
    assert "@" not in row.reason  # the reason is logged: it names no address
    sent = rows(h, OutboxMail)[before:]
    assert [o.recipient for o in sent] == ([told] if told else [])
    if told:
        assert sent[0].kind == "sender_not_confirmed" and b"pa.office@health.example.test" in sent[0].raw


def test_a_missing_from_is_not_ambiguous_but_unreadable():
    assert ambiguity(read_head(b"Subject: x\r\n\r\n")) is None
    assert ambiguity(read_head(b"From: a@x.test\r\nFrom: b@y.test\r\n\r\n")) == "From: the header appears 2 times"


@pytest.mark.parametrize("table, inbox, code, says", [
    (None, None, 1, ["security FAIL  authentication cannot be applied: security.receiving_server is not set"]),
    ({"receiving_server": "none"}, None, 0, ["security WARN  AUTHENTICATION IS OFF"]),
    ({"receiving_server": "microsoft"}, None, 0,
     ["security WARN  the inbox is a local folder, not a microsoft mailbox",
      "security ok    a message acts only when Exchange Online"]),
    ({"trusted_authserv_ids": [MX]}, None, 0, ["security WARN  security.trusted_authserv_ids", "security ok"]),
])
def test_check_says_plainly_whether_authentication_applies(tmp_path, capsys, table, inbox, code, says):
    from tracker.cli.check import check
    from tracker.daemon.clock import SystemClock

    config = tmp_path / "config.toml"
    lines = [f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\nurl_env = ""',
             f'[inbox]\nkind = "maildir"\npath = "{tmp_path / "in"}"', f'[outgoing]\nkind = "maildir"\npath = "{tmp_path / "out"}"']
    if table is not None:
        lines.append("[security]\n" + "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in table.items()))
    config.write_text("\n".join(lines) + "\n")
    assert check(str(config), SystemClock()) == code
    out = capsys.readouterr().out
    for line in says:
        assert line in out, out


EXCHANGE = ("spf=pass (sender IP is 192.0.2.41) smtp.mailfrom=health.example.test; dkim=pass header.d=health.example.test;"
            "dmarc=pass action=none header.from=health.example.test;compauth=pass reason=100")


@pytest.mark.parametrize("waiting, code, says", [
    ([], 0, "security ok    no mail in the mailbox yet to show microsoft's verdict"),
    ([f"Authentication-Results: {EXCHANGE}"], 0, "security ok    1 of the newest 1 messages carry microsoft's verdict"),
    ([f"Authentication-Results: {MX}; dmarc=pass header.from=health.example.test", ""], 1,
     "security FAIL  authentication cannot be applied to this mailbox: 0 of the newest 2 messages carry microsoft's "
     f"verdict; the others' topmost Authentication-Results: {MX}, nobody"),
])
def test_check_reads_the_mailbox_for_the_receiver_s_verdict(tmp_path, capsys, waiting, code, says):
    from tracker.cli.check import check
    from tracker.daemon.clock import SystemClock

    for n, header in enumerate(waiting):
        (tmp_path / "in" / "new").mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / "new" / f"{n}.eml").write_bytes(f"{header}\r\nFrom: {OTHER}\r\n\r\nhi".lstrip().encode())
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c.db"}"\nurl_env = ""\n[inbox]\nkind = "maildir"\n'
                      f'path = "{tmp_path / "in"}"\n[outgoing]\nkind = "maildir"\npath = "{tmp_path / "out"}"\n'
                      '[security]\nreceiving_server = "microsoft"\n')
    assert check(str(config), SystemClock()) == code
    assert says in capsys.readouterr().out


def test_every_start_says_when_senders_are_not_or_cannot_be_checked():
    from tracker.config.values import SecurityConfig
    from tracker.incoming.authenticity import startup_warning

    assert "NOT authenticated" in startup_warning(SecurityConfig(receiving_server="none"))
    assert "is not set" in startup_warning(SecurityConfig())
    assert startup_warning(SecurityConfig(receiving_server="microsoft")) is None
