"""Delivery reports from many mail servers: each recognised as a bounce, with the failed
recipient, how badly it failed, and the Message-ID of our mail it reports on.

tests/data/bounces/ holds reports in each server's own format: DragonFly, KDDI, Verizon,
qmail, Exim and Gmail are real ones from the Sisimai project's public collection; the
Office 365 NDR (its Authentication-Results, headers and DSN fields) and the Postfix delay
warning are written after real ones. Every person, address and host is rewritten to
invented *.example.test ones and the returned mail made one of ours
(`ESC-2026-0042.notice.<hex>@partnership.example.test`)."""
from __future__ import annotations

import pathlib

import pytest

from parser import parse_message

DATA = pathlib.Path(__file__).parent / "data"
NOTICE = "ESC-2026-0042.notice.{}@partnership.example.test"

CASES = [  # file, reader, severity, failed recipients, status of the first, original Message-ID's hex
    ("bounces/office365.eml", "dsn", "hard", ["sam.cartr@health.example.test"], "5.1.10", "77ee66dd55cc44bb"),
    ("bounces/postfix_delayed.eml", "dsn", "delay", ["priya.nair@health.example.test"], "4.4.1", "0f1e2d3c4b5a6978"),
    ("bounces/exim.eml", "x-failed-recipients", "hard",
     ["sam.carter@health.example.test", "priya.nair@health.example.test"], "5.1.1", "99aa88bb77cc66dd"),
    ("bounces/gmail.eml", "x-failed-recipients", "hard", ["sam.carterr@health.example.test"], "5.1.1",
     "5566778899aabbcc"),
    ("bounces/qmail.eml", "flufl", "hard", ["sam.carter@health.example.test"], "5.5.0", "1122334455667788"),
    ("bounces/dragonfly.eml", "text", "hard", ["sam.carter@health.example.test"], "5.7.26", "3f9a1c0b2d4e6f70"),
    ("bounces/kddi.eml", "text", "hard", ["drew.sample@health.example.test"], None, "0a1b2c3d4e5f6071"),
    ("bounces/verizon.eml", "text", "hard", ["07700900123@vtext.example.test"], None, "abcdefabcdef0123"),
]


@pytest.mark.parametrize("name, reader, severity, failed, status, original", CASES)
def test_a_real_report_is_read(name, reader, severity, failed, status, original):
    parsed = parse_message((DATA / name).read_bytes())
    report = parsed.bounce
    assert (parsed.kind, parsed.command, parsed.case_ref) == ("bounce", None, "ESC-2026-0042")
    assert (report.reader, report.severity) == (reader, severity)
    assert [r.address for r in report.recipients] == failed
    assert report.recipients[0].status == status
    assert report.original_message_id == NOTICE.format(original)


def test_the_old_postfix_fixture_ties_to_our_notice():
    report = parse_message((DATA / "bounce_postfix_dsn.eml").read_bytes()).bounce
    assert (report.severity, report.original_message_id) == ("hard", "ESC-2026-0042.notice.3f9a1c@escalations.invalid")


def test_a_person_writing_undeliverable_in_a_subject_is_not_a_bounce():
    raw = (b"From: Sam Carter <sam.carter@health.example.test>\r\nSubject: RE: Undeliverable: [ESC-2026-0042] notice\r\n"
           b"\r\nUPDATE: my colleague's address was wrong, it is priya.nair@health.example.test\r\n")
    parsed = parse_message(raw)
    assert (parsed.kind, parsed.command, parsed.bounce) == ("reply", "update", None)


def test_a_report_that_names_nobody_is_still_a_bounce_that_acts_on_nothing():
    raw = (b"From: MAILER-DAEMON@mx.health.example.test\r\nSubject: failure notice\r\n\r\nSomething went wrong.\r\n")
    parsed = parse_message(raw)
    assert (parsed.kind, parsed.bounce.recipients, parsed.bounce.severity) == ("bounce", (), "unknown")


def test_a_report_whose_part_the_email_package_cannot_decode_is_still_read():
    # found by the fuzz soak (seed 11): get_payload() raises ValueError on a charset holding a NUL
    raw = (b"From: MAILER-DAEMON@x.example.test\r\nSubject: failure notice\r\nContent-Type: multipart/mixed; "
           b'boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset="a\x00b"\r\n\r\n\xff\xfe caf\xe9\r\n--b--\r\n')
    parsed = parse_message(raw)
    assert (parsed.kind, parsed.errors) == ("bounce", ())
