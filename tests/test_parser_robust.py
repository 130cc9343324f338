"""Not a person, never a crash: auto-replies and bounces carry no command; any bytes give an answer fast."""
from __future__ import annotations

import io
import json
import pathlib
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parser import OWN_MARKER_HEADER, parse_message
from parser.caps import MAX_BLANK_LINES, MAX_LINES, MAX_MULTIPARTS, MAX_RAW_BYTES, MAX_SEPARATORS, cap_raw
from parser.docx_form import docx_text
from parser.message import UNREADABLE
from parser.model import COMMANDS, CUT, KINDS

DATA = pathlib.Path(__file__).parent / "data"
FIXTURES = [p.read_bytes() for p in sorted(DATA.glob("*.eml"))]
REPLY = b"From: sam@health.example.test\r\nSubject: RE: [ESC-2026-0042] notice\r\n"


def _valid(parsed) -> None:
    assert parsed.kind in KINDS
    assert parsed.command in COMMANDS + (None,)
    json.dumps(parsed.to_contract())  # always serialisable
    # the catch-all in parse_message must not be what saved us: no internal exception at all
    assert UNREADABLE not in parsed.errors
    assert (CUT in parsed.errors) == parsed.cut  # a cut message says so, and only a cut one


@pytest.mark.parametrize("header, kind", [
    (b"Auto-Submitted: auto-replied", "auto_reply"), (b"Auto-Submitted: auto-generated; x=1", "auto_reply"),
    (b"Precedence: bulk", "auto_reply"), (b"Precedence: junk", "auto_reply"), (b"X-Autoreply: yes", "auto_reply"),
    (OWN_MARKER_HEADER.encode() + b": notice", "auto_reply"), (b"X-Failed-Recipients: sam@health.example.test", "bounce"),
    (b"Auto-Submitted: no", "reply"), (b"Precedence: first-class", "reply"),
])
def test_machines_never_carry_a_command(header, kind):
    parsed = parse_message(REPLY + header + b"\r\n\r\nRESOLVED - agreed\r\n")
    assert (parsed.kind, parsed.command is None) == (kind, kind != "reply")


@pytest.mark.parametrize("header", [b"Precedence: list", b"List-Id: <team.health.example.test>",
                                    b"List-Unsubscribe: <mailto:x@example.test>", b"List-Post: <mailto:team@x.test>"])
def test_a_reply_through_a_distribution_list_is_a_reply_marked_via_list(header):
    parsed = parse_message(REPLY + header + b"\r\n\r\nRESOLVED - agreed\r\n")
    assert (parsed.kind, parsed.command, parsed.via_list) == ("reply", "resolved", True)


def test_direct_mail_is_not_via_list():
    assert parse_message(REPLY + b"\r\nRESOLVED\r\n").via_list is False


@pytest.mark.parametrize("sender", [b"MAILER-DAEMON@mx.example.test", b"postmaster@health.example.test"])
def test_daemon_senders_are_bounces(sender):
    raw = b"From: " + sender + b"\r\nSubject: [ESC-2026-0042] failed\r\n\r\nRESOLVED\r\n"
    assert (parse_message(raw).kind, parse_message(raw).command) == ("bounce", None)


def test_automatic_reply_subject_is_an_auto_reply_even_without_headers():
    raw = b"From: sam@health.example.test\r\nSubject: Automatic reply: [ESC-2026-0042] x\r\n\r\nEscalate to Priya\r\n"
    assert parse_message(raw).kind == "auto_reply"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_any_bytes_give_an_answer(raw):
    _valid(parse_message(raw))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIXTURES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 64), st.binary(max_size=40)),
                                            max_size=6))
def test_mutated_fixtures_give_an_answer(raw, edits):
    data = bytearray(raw)
    for at, cut, insert in edits:
        at %= len(data) + 1
        data[at:at + cut] = insert
    _valid(parse_message(bytes(data)))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autorespond: yes"]))
def test_no_auto_reply_ever_carries_a_command(text, header):
    raw = REPLY + header.encode() + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + ("RESOLVED " + text).encode()
    parsed = parse_message(raw)
    assert (parsed.kind, parsed.command, parsed.statement) == ("auto_reply", None, None)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=80))
def test_not_resolved_always_escalates(tail):
    raw = REPLY + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + ("Not resolved - " + tail).encode()
    assert parse_message(raw).command == "escalate"


def test_deeply_nested_mime_is_cut_before_the_stdlib_recurses():
    depth = 3000
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    raw = b"Subject: Escalation\r\n" + head + b"Content-Type: text/plain\r\n\r\nhi\r\n"
    assert cap_raw(raw).raw.lower().count(b"multipart/") == MAX_MULTIPARTS
    _valid(parse_message(raw))


def test_a_huge_message_is_capped():
    body = (b"Reasons: " + b"a" * 70 + b"\r\n") * 200_000  # ~16 MB of text
    assert len(cap_raw(b"Subject: Escalation\r\n\r\n" + body).raw) <= MAX_RAW_BYTES
    _valid(parse_message(b"Subject: Escalation\r\n\r\n" + body))


def test_many_parts_are_capped():
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nCase reference: x\r\n" for _ in range(20_000))
    raw = b'Subject: Escalation\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n"
    assert cap_raw(raw).raw.count(b"\n--") < MAX_SEPARATORS
    _valid(parse_message(raw))


def test_line_and_blank_line_floods_are_cut_before_the_mime_parser():
    flood = b"Subject: x\r\n\r\nUPDATE\n" + b"\n" * 5_000_000
    assert cap_raw(flood) == (b"\nUPDATE\n\n\n", False)  # one line ending, runs shortened (and no header but
    # MIME's): normalised, nothing left out
    assert cap_raw(b"a\n" * 2_000_000).raw.count(b"\n") == MAX_LINES - 1  # cut where the cap-th begins
    assert cap_raw(b"a\n\n" * 1_000_000).raw.count(b"\n\n") == MAX_BLANK_LINES - 1
    assert cap_raw(b"a\r\n\r\nb\n\n\nc") == (b"a\n\nb\n\n\nc", False)  # one or two blank lines are kept
    assert cap_raw(b"a\r" * 2_000_000).raw.count(b"\n") == MAX_LINES - 1  # a lone CR ends a line too


def test_the_mime_parser_gets_only_the_mime_fields_of_the_header_block():
    raw = b"X-J: 1\r\n" * 50_000 + b"Content-Type: text/plain;\r\n charset=utf-8\r\nFrom: a@b.test\r\n\r\nbody"
    assert cap_raw(raw) == (b"Content-Type: text/plain;\n charset=utf-8\n\nbody", False)  # not a cut


def test_a_docx_zip_bomb_is_refused_unread():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document>" + b" " * 50_000_000 + b"</w:document>")
    assert docx_text(buffer.getvalue()) == ""


def test_a_corrupt_docx_gives_no_text():
    assert docx_text(b"PK\x03\x04 not really a zip") == ""
