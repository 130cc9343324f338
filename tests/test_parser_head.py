"""Who sent a message is read from the parsed address, never from a decoded header or a
display name; anything a reader could take two ways is ambiguous, with a reason, never a guess.
And no control character reaches a value the parser returns."""
from __future__ import annotations

import pytest

from parser import parse_message
from parser.attachments import Attachment, refused_attachment
from parser.head import read_head

SAM = "sam.carter@health.example.test"


def sent_by(from_line: str, extra: str = "") -> tuple[str | None, str | None, tuple[str, ...]]:
    parsed = parse_message(f"{from_line}\r\n{extra}Subject: [ESC-2026-0042] x\r\n\r\nRESOLVED\r\n".encode())
    return parsed.sender, parsed.sender_name, parsed.sender_problems


@pytest.mark.parametrize("from_line, extra, why", [
    ("From: =?utf-8?q?Sam_Carter_=3Csam.carter=40health.example.test=3E?= <attacker@evil.example>", "",
     "its display name, decoded, looks like an address"),
    ("From: =?utf-8?b?c2FtLmNhcnRlckBoZWFsdGguZXhhbXBsZS50ZXN0?= <attacker@evil.example>", "",
     "its display name, decoded, looks like an address"),
    (f"From: {SAM}", "From: attacker@evil.example\r\n", "the header appears 2 times"),
    (f"From: {SAM}, attacker@evil.example", "", "it names 2 addresses"),
    (f"From: {SAM}", "Sender: attacker@evil.example\r\n", "a Sender header names another address"),
    (f"From: Sam <@evil.example:{SAM}>", "", "a route address"),
    (f'From: "{SAM}"@evil.example', "", "a quoted local part"),
    (f"From: attacker@evil.example ({SAM})", "", "a comment in it holds an address"),
    (f'From: "{SAM}" <attacker@evil.example>', "", "its display name names another address"),
    ("From: Team: sam@health.example.test;", "", "a group of addresses"),
    (f"From: Sam <{SAM}> <attacker@evil.example>", "", "several <addresses>"),
    ("From: Sam <=?utf-8?q?sam?=@health.example.test>", "", "an encoded word inside the address"),
    ("Subject: none", "", "no From header"),
    ("From: Sam Carter", "", "no readable address"),
    ("From: sam.carter\x00@health.example.test", "", "a control character is inside its address"),
    ("From: Sam <sam.carter@health\x00.example.test>", "", "a control character is inside its address"),
    ("From: Sam <sam\x1b.carter@health.example.test>", "", "a control character is inside its address"),
])
def test_an_ambiguous_sender_is_named_nobody_with_a_reason(from_line, extra, why):
    sender, _, problems = sent_by(from_line, extra)
    assert sender is None
    assert any(why in p for p in problems), problems


@pytest.mark.parametrize("from_line, address, name", [
    (f"From: Sam Carter <{SAM.upper()}>", SAM, "Sam Carter"),
    (f'From: "Carter, Sam (Health)" <{SAM}>', SAM, "Carter, Sam (Health)"),
    (f'From: "{SAM}" <{SAM}>', SAM, SAM),  # Outlook names a contact it has no name for by the address
    (f"From: {SAM} (Sam Carter)", SAM, "Sam Carter"),
    ("From: =?utf-8?q?Zo=C3=AB_Smith?= <zoe.smith@health.example.test>", "zoe.smith@health.example.test",
     "Zoë Smith"),
    ("From: Zoë Smith <zoe.smith@health.example.test>", "zoe.smith@health.example.test", "Zoë Smith"),
    (f"From: Sam\x00 Carter\x1b[2J <{SAM}>", SAM, "Sam Carter [2J"),
])
def test_a_plain_sender_is_read_from_the_address(from_line, address, name):
    assert sent_by(from_line) == (address, name, ())


def test_the_sender_header_is_exposed_beside_from_for_the_tracker_to_decide():
    head = read_head(f"From: Sam <{SAM}>\r\nSender: pa.office@health.example.test\r\n\r\n".encode())
    assert (head.author.address, head.agent.address, head.sender) == (SAM, "pa.office@health.example.test", None)
    same = read_head(f"From: {SAM}\r\nSender: {SAM}\r\n\r\n".encode())
    assert (same.sender, same.sender_problems) == (SAM, ())


def test_reply_to_is_read_the_same_way():
    head = read_head(f"From: {SAM}\r\nReply-To: =?utf-8?q?x=40y.test?= <attacker@evil.example>\r\n\r\n".encode())
    assert head.reply_to is None
    assert "its display name, decoded, looks like an address" in head.reply_to_field.problems


def test_the_head_is_read_without_the_body_and_stops_at_its_limits():
    raw = f"From: {SAM}\r\nSubject: hi\r\n\r\n".encode() + b"x" * 10_000_000
    head = read_head(raw)
    assert (head.sender, head.subject, head.size) == (SAM, "hi", len(raw))
    huge = b"X-Junk: " + b"a" * 2_000_000 + f"\r\nFrom: {SAM}\r\n\r\n".encode()
    assert read_head(huge).sender is None  # past MAX_HEAD_BYTES nothing is read, nothing is guessed
    many = b"".join(b"X-%d: y\r\n" % i for i in range(5_000)) + f"From: {SAM}\r\n\r\n".encode()
    assert len(read_head(many).fields) == 1_000


def test_loop_detection_values_need_no_marker_header():
    raw = (b"From: Escalations <escalations@partnership.example.test>\r\nReturn-Path: <>\r\n"
           b"In-Reply-To: <ESC-2026-0042.notice.ab12@partnership.example.test>\r\n\r\nhi")
    head = parse_message(raw).head
    assert head.reference_domains == {"partnership.example.test"}
    assert (head.author.address, head.return_path, head.own_marker) == ("escalations@partnership.example.test", "",
                                                                        False)


def test_no_control_character_reaches_a_returned_value():
    raw = ("From: Sam <sam.carter@health.example.test>\r\nSubject: [ESC-2026-0042] a\x1b]0;x\x07b\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nUPDATE: agreed\x00 \x1b[31mred\x1b[0m \u202eevil\r\n")
    parsed = parse_message(raw.encode())
    for value in (parsed.subject, parsed.statement, parsed.sender_name):
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c == "\u202e" for c in value), repr(value)
    assert parsed.statement == "agreed [31mred[0m evil"


@pytest.mark.parametrize("name, ctype, refused", [
    ("evil.zip.", "application/octet-stream", True),
    ("evil.zip .", "application/octet-stream", True),
    ("", "application/zip", True),
    ("evil.exe\x00.pdf", "application/pdf", True),
    ("evil\x00.exe", "application/pdf", True),
    ("ｅｖｉｌ．ＥＸＥ", "application/octet-stream", True),
    ("Form.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", False),
    ("minutes.pdf", "application/pdf", False),
])
def test_attachments_are_judged_by_normalised_name_and_content_type(name, ctype, refused):
    assert (refused_attachment(Attachment(name, ctype, 10), (".exe", ".zip")) is not None) is refused


def test_an_unnamed_zip_part_is_an_attachment_and_its_nul_name_is_judged_as_written():
    raw = (b'From: sam.carter@health.example.test\r\nSubject: Escalation\r\nContent-Type: multipart/mixed; boundary="b"'
           b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/zip\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--b\r\nContent-Type: application/pdf; "
           b'name="=?utf-8?q?evil.exe=00.pdf?="\r\nContent-Disposition: attachment; '
           b'filename="=?utf-8?q?evil.exe=00.pdf?="\r\n\r\nx\r\n--b--\r\n')
    found = parse_message(raw).attachments
    assert [(a.content_type, a.normal_name) for a in found] == [("application/zip", ""), ("application/pdf", "evil.exe")]
    assert "\x00" not in found[1].name
    assert all(refused_attachment(a, (".exe",)) for a in found)
