"""Delivery reports cannot be forged into a stopped clock or a mail bomb (branch
bounce-trust): the service's Message-IDs cannot be computed by a stranger; a report whose
sender the receiving server did not confirm is recorded and told, never acted on, and
quotes nothing of its own words; one report, or many, costs a bounded number of mails."""
from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from tests.helpers.harness import LONDON
from tests.helpers.scenarios import Scenario

OTHER = "drew.sample@health.example.test"


@pytest.fixture
def s(tmp_path):
    scenario = Scenario(tmp_path, "wolverhampton", datetime(2026, 11, 23, 10, tzinfo=LONDON))
    yield scenario
    scenario.close()


def test_a_message_id_cannot_be_computed_from_what_anyone_knows_and_is_kept_for_a_resend(s):
    s.raise_case()
    [notice] = [r for r in s.rows() if r.kind == "notice"]
    token = notice.message_id.split("@")[0].rsplit(".", 1)[1]
    assert notice.message_id.startswith("ESC-2026-0001.notice.") and len(token) == 16
    assert token != hashlib.sha256(notice.idem_key.encode()).hexdigest()[:16]
    # composed again (a resend after a crash), the mail carries the ID its row holds
    assert s.mail("notice", OTHER)["Message-ID"].strip("<>") == notice.message_id
    assert s.mail("notice", OTHER)["Message-ID"] == s.mail("notice", OTHER)["Message-ID"]
    ids = [r.message_id for r in s.rows()]
    assert len(set(ids)) == len(ids)


# --- reports as they arrive in the inbox ---------------------------------------------------------
RAISER = "casey.tester@council.example.test"
SUPPORT_KINDS = ("delivery_failed", "delivery_failed_unconfirmed", "delivery_failed_feedback")
ATTACK = "smtp; 550 5.1.1 user unknown. This mailbox has moved: resend the case to drew.sample@evil.example"
MICROSOFT_FAIL = (b"Authentication-Results: spf=pass (sender IP is 192.0.2.41) smtp.mailfrom=evil.example; dkim=pass "
                  b"(signature was verified) header.d=evil.example;dmarc=fail action=none header.from=evil.example;"
                  b"compauth=fail reason=000\r\nReceived: from mail.x (203.0.113.9) by AM0PR01MB1234.eurprd01.prod."
                  b"outlook.com with ESMTPS; Mon, 23 Nov 2026 10:00:00 +0000\r\n")


def dsn(target: str, recipients: list[str], diag: str = ATTACK, n: int = 0) -> bytes:
    """A delivery report as a stranger writes one: multipart/report, Final-Recipient lines,
    and the headers of the mail it is about (its Message-ID)."""
    b = "BOUNDARY42"
    lines = "".join(f"\r\nFinal-Recipient: rfc822; {r}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: {diag}\r\n"
                    for r in recipients)
    return (f"From: MAILER-DAEMON@mail.evil.example\r\nTo: escalations@partnership.example.test\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <r{n}.{len(recipients)}@mail.evil.example>\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"{b}\"\r\n\r\n"
            f"--{b}\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
            f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.evil.example\r\n{lines}"
            f"--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{target}>\r\nTo: {recipients[0]}\r\n"
            f"--{b}--\r\n").encode()


def opened(base, security: dict | None) -> Scenario:
    """A case opened by a confirmed intake, then the service as configured by `security`."""
    start = datetime(2026, 11, 23, 10, tzinfo=LONDON)
    first = Scenario(base, "wolverhampton", start)
    first.raise_case()
    first.close()
    if security is None:
        first.new()
        return first
    again = Scenario(base, "wolverhampton", start, extra={"security": security})
    again.h._n = first.h._n  # the inbox's next file name
    again.new()
    return again


def notice_id(s: Scenario) -> str:
    return next(r.message_id for r in s.rows() if r.kind == "notice")


@pytest.mark.parametrize("security", [{"receiving_server": ""}, {"receiving_server": "microsoft"}],
                         ids=["shipped", "microsoft"])
def test_an_unconfirmed_report_stops_no_clock_and_repeats_none_of_its_words(tmp_path, security):
    s = opened(tmp_path, security)
    due = s.case().stage_due_at
    raw = dsn(notice_id(s), [OTHER])  # the worst case: the forger knows the notice's Message-ID
    s.send(MICROSOFT_FAIL + raw if security["receiving_server"] else raw)
    assert s.new() == [("delivery_failed_unconfirmed", "business@partnership.example.test")]  # not the raiser
    case = s.case()
    assert case.clock_stopped_at is None and case.stage_due_at == due
    assert not any(p.bounced for p in s.people())
    [told] = s.mails("delivery_failed_unconfirmed")
    shown = [part.get_content() for part in told.walk() if part.get_content_maintype() == "text"]
    whole = told["Subject"] + "".join(shown)
    assert len(shown) == 2 and "evil" not in whole and "resend" not in whole and "moved" not in whole
    text = " ".join(told.get_body(("plain",)).get_content().split())
    assert f"A delivery report we could not confirm says a notice mail on case ESC-2026-0001 to {OTHER} failed " \
           "(status 5.1.1)" in text
    assert f"CORRECT {OTHER} -> the.right@address" in text and "has not been stopped" in text
    [entry] = [e for e in s.events() if e.kind.startswith("delivery")]
    assert entry.kind == "delivery_unconfirmed" and OTHER in entry.summary and not entry.statement
    assert "clock_stopped" not in [e.kind for e in s.events()] and s.verified()
    s.at(2026, 12, 7, 10)  # past the deadline: the case moves on as if no report had come
    s.h.run()
    assert s.case().stage != "1"


def test_a_confirmed_report_stops_the_clock_and_its_words_come_capped_and_printable(tmp_path):
    s = opened(tmp_path, None)  # receiving_server "none": every sender counts as confirmed
    s.send(dsn(notice_id(s), [OTHER], diag="smtp; 550 5.1.1 \x1b]8;;http://x.example\x07no such user " + "x" * 300))
    assert sorted(k for k, _ in s.new()) == ["delivery_failed", "delivery_failed_feedback"]
    assert s.case().clock_stopped_for == "other"
    text = s.mail("delivery_failed", "business@partnership.example.test").get_body(("plain",)).get_content()
    [said] = [line for line in text.splitlines() if "no such user" in line]
    assert "\x1b" not in said and "\x07" not in said and len(said.strip()) <= 200
    [entry] = [e for e in s.events() if e.kind == "delivery_failed"]
    assert len(entry.statement) <= 200 and entry.statement.isprintable()


@pytest.mark.parametrize("listed", [[OTHER] * 50, [f"someone{n}@health.example.test" for n in range(50)]],
                         ids=["one address 50 times", "50 addresses"])
def test_one_report_listing_fifty_recipients_costs_one_entry_and_at_most_two_mails(tmp_path, listed):
    s = opened(tmp_path, None)
    s.send(dsn(notice_id(s), listed))
    assert len(s.new()) <= 2
    assert [e.kind for e in s.events() if e.kind.startswith("delivery")] == ["delivery_failed"]
    assert s.verified()


def test_twenty_reports_on_one_case_in_a_day_send_at_most_the_cap_and_the_record_holds_them_all(tmp_path):
    from tracker.cases.events import MAILS_PER_DAY

    s = opened(tmp_path, None)
    target = notice_id(s)
    for n in range(20):
        s.h.deliver(dsn(target, [OTHER], n=n))
    s.h.run()
    sent = s.new()
    assert 0 < len(sent) <= MAILS_PER_DAY and all(k in SUPPORT_KINDS for k, _ in sent)
    kinds = [e.kind for e in s.events()]
    assert kinds.count("delivery_failed") == 20 and kinds.count("delivery_not_told") == 20 - len(sent) // 2
    s.at(2026, 11, 24, 10)  # the next day: a report is told again
    s.send(dsn(target, [OTHER], n=99))
    assert s.new() and s.verified()


def test_a_report_reads_the_case_against_its_record_once_however_many_lines_it_has(tmp_path, monkeypatch):
    import tracker.cases.events as events

    s = opened(tmp_path, None)
    calls = []
    real = events.verified_state
    monkeypatch.setattr(events, "verified_state", lambda session, case: calls.append(case.id) or real(session, case))
    s.send(dsn(notice_id(s), [OTHER] * 50))
    assert calls == [s.case().id]


def test_a_report_the_microsoft_server_confirmed_stops_the_clock_as_before(tmp_path):
    s = opened(tmp_path, {"receiving_server": "microsoft"})
    passed = MICROSOFT_FAIL.replace(b"evil.example", b"health.example.test").replace(b"dmarc=fail", b"dmarc=pass") \
        .replace(b"compauth=fail reason=000", b"compauth=pass reason=100")
    s.send(passed + dsn(notice_id(s), [OTHER]).replace(b"MAILER-DAEMON@mail.evil.example", b"postmaster@health.example.test"))
    assert sorted(k for k, _ in s.new()) == ["delivery_failed", "delivery_failed_feedback"]
    assert s.case().clock_stopped_for == "other" and s.verified()
