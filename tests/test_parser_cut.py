"""A message parser/caps.py had to cut says so (F5): a refused attachment placed past a cap
was never seen, so what was read must not pass for the whole message. Normalising (line
endings, blank-line runs, the header block, long parameters) is no cut; honest mail just
under each cap is read whole."""
from __future__ import annotations

import pytest

from parser import parse_message
from parser.caps import MAX_LINES, MAX_MULTIPARTS, MAX_RAW_BYTES, cap_raw
from parser.model import CUT
from tests.helpers.cut_mail import EXE, PAST, UNDER, head, update

@pytest.mark.parametrize("shape", PAST)
def test_an_attachment_past_a_cap_leaves_the_message_marked_cut(shape):
    raw = update(*PAST[shape])
    assert cap_raw(raw).cut
    parsed = parse_message(raw)
    assert "invoice.exe" not in [a.name for a in parsed.attachments]  # the cut hides it ...
    assert parsed.cut and parsed.errors[0] == CUT  # ... so the message says it was not read whole
    assert parsed.to_contract()["errors"][0] == {"field": "message", "message": "too long or too complex to read in full"}


@pytest.mark.parametrize("shape", UNDER)
def test_a_message_just_under_a_cap_is_read_whole(shape):
    raw = update(*UNDER[shape])
    if shape == "bytes":
        assert MAX_RAW_BYTES - 20_000 < len(raw) <= MAX_RAW_BYTES
    assert not cap_raw(raw).cut
    parsed = parse_message(raw)
    assert (parsed.cut, CUT in parsed.errors, parsed.command) == (False, False, "update")
    assert parsed.attachments[-1].name == "invoice.exe"  # seen, so refused as any other


def test_the_exe_first_is_seen_even_when_the_rest_is_cut():
    raw = head() + b"--Q\r\nContent-Type: application/x-msdownload\r\nContent-Disposition: attachment; " \
        b"filename=invoice.exe\r\n\r\n" + EXE + b"--Q\r\nContent-Type: text/plain\r\n\r\nUPDATE\r\n" + b"x\r\n" * MAX_LINES
    parsed = parse_message(raw)
    assert parsed.cut and [a.name for a in parsed.attachments] == ["invoice.exe"]


def test_too_many_multipart_containers_is_a_cut():
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
                    for i in range(MAX_MULTIPARTS + 1))
    assert cap_raw(head + b"Content-Type: text/plain\r\n\r\nhi\r\n").cut
    assert not cap_raw(head[:head.rfind(b"Content-Type")] + b"Content-Type: text/plain\r\n\r\nhi\r\n").cut


@pytest.mark.parametrize("raw", [
    b"Subject: x\r\n\r\nUPDATE\r\n" + b"\r\n" * 400_000,  # blank runs shortened, lines past the cap all blank
    b"Subject: x\r\n\r\nUPDATE\r\n" + b" \r\n" * 10,
    b"X-J: 1\r\n" * 50_000 + b"Subject: x\r\n\r\nUPDATE\r\n",  # header block reduced to its MIME fields
    b"Content-Type: text/plain; " + b"a=b; " * 10_000 + b"charset=utf-8\r\n\r\nUPDATE\r\n",  # parameters shortened
    b"Subject: x\r\n\r\nUPDATE\r\n" + b" " * (MAX_RAW_BYTES + 10),  # only spaces past the byte cap
])
def test_normalising_and_dropping_whitespace_is_no_cut(raw):
    assert not cap_raw(raw).cut
    assert not parse_message(raw).cut


def test_the_blank_line_shape_of_the_review_is_not_cut_and_has_no_exe_part():
    # exe2.py's "\r\n\r\nx" * 2600 is 2,600 blank-line pairs (under MAX_BLANK_LINES), and its last "x"
    # runs into "--Q": no boundary line, so the "attachment" is text in the body for any MIME reader
    raw = update(b"\r\n\r\nx" * 2600)
    assert not cap_raw(raw).cut
    assert parse_message(raw).attachments == ()
