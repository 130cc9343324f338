"""Replies: which case, which keyword, what statement, whatever client wrote them."""
from __future__ import annotations

import pytest

from parser import parse_message
from parser.reply import read_command

NOTICE_ID = "<ESC-2026-0042.notice.3f9a1c@escalations.invalid>"


def mail(body: str, subject: str = "RE: [ESC-2026-0042] notice", extra: str = "") -> bytes:
    return (f"From: Sam Carter <Sam.Carter@Health.example.test>\r\nTo: esc@partnership.example.test\r\n"
            f"Subject: {subject}\r\nMessage-ID: <m1@health.example.test>\r\n{extra}\r\n{body}").encode()


@pytest.mark.parametrize("text, command, statement", [
    ("ACKNOWLEDGED", "acknowledged", None),
    ("acknowledged: will reply Friday", "acknowledged", "will reply Friday"),
    ("Resolved. We agreed a joint visit.", "resolved", "We agreed a joint visit."),
    ("RESOLVED - agreed\ncontinues here\n\nand here", "resolved", "agreed continues here\nand here"),
    ("NOT RESOLVED - still no plan", "escalate", "still no plan"),
    ("not resolved", "escalate", None),
    ("Not agreed, manager to call", "escalate", "manager to call"),
    ("ESCALATE – no date given", "escalate", "no date given"),
    ("Update, nursery called", "update", "nursery called"),
    ("WITHDRAW.", "withdraw", None),
    ("Conference requested: ICPC please", "conference_requested", "ICPC please"),
    ("conference   requested", "conference_requested", None),
    ("\n\n   RESOLVED   \n", "resolved", None),
    ("Resolvedness is a word", None, None),
    ("Hi Sam,\nRESOLVED", None, None),
    ("I think this is resolved", None, None),
    ("", None, None),
])
def test_keyword_on_the_first_non_empty_line(text, command, statement):
    assert read_command(text) == (command, statement)


@pytest.mark.parametrize("tail", [
    "\n\nFrom: Escalations <esc@partnership.example.test>\nSent: 24 November 2026 08:00\nTo: Sam\nSubject: x\n\nRESOLVED",
    "\n\nOn Tue, 24 Nov 2026 at 08:00, Escalations <esc@partnership.example.test> wrote:\n> RESOLVED",
    "\n\nOn Tue, 24 Nov 2026 at 08:00, Escalations <\nesc@partnership.example.test> wrote:\n\nRESOLVED",
    "\n\n> On 24 Nov 2026, at 08:00, Escalations <esc@partnership.example.test> wrote:\n>\n> RESOLVED",
    "\n\n-----Original Message-----\nFrom: Escalations\nRESOLVED",
    "\n\n________________________________\nFrom: Escalations\nRESOLVED",
    "\n\n-- \nSam Carter\nRESOLVED",
    "\n\nKind regards\nSam\nRESOLVED",
    "\n\nSent from my iPhone\nRESOLVED",
    "\n\nGet Outlook for Android\nRESOLVED",
    "\n\nDISCLAIMER: This email is confidential. RESOLVED",
    "\n> quoted RESOLVED",
])
def test_quoted_history_signatures_and_disclaimers_never_reach_the_statement(tail):
    assert read_command("Update: visit booked" + tail) == ("update", "visit booked")


def test_not_resolved_is_never_read_as_resolved():
    parsed = parse_message(mail("NOT RESOLVED: the plan is still missing"))
    assert (parsed.kind, parsed.command) == ("reply", "escalate")


def test_case_comes_from_in_reply_to_even_when_the_subject_was_rewritten():
    parsed = parse_message(mail("Acknowledged", subject="Re: your note", extra=f"In-Reply-To: {NOTICE_ID}\r\n"))
    assert (parsed.kind, parsed.case_ref, parsed.in_reply_to) == (
        "reply", "ESC-2026-0042", ("ESC-2026-0042.notice.3f9a1c@escalations.invalid",))


def test_case_comes_from_references_when_in_reply_to_is_foreign():
    extra = f"In-Reply-To: <x@gmail.example.test>\r\nReferences: {NOTICE_ID} <x@gmail.example.test>\r\n"
    assert parse_message(mail("Resolved", subject="Re: hello", extra=extra)).case_ref == "ESC-2026-0042"


def test_a_reply_without_case_or_thread_is_invalid():
    parsed = parse_message(mail("Resolved", subject="Re: hello"))
    assert (parsed.kind, parsed.case_ref, parsed.command) == ("invalid", None, None)


def test_a_reply_without_keyword_names_the_problem():
    parsed = parse_message(mail("Thanks, I'll look next week"))
    assert parsed.kind == "reply" and parsed.command is None
    assert [e.field for e in parsed.errors] == ["command"]


def test_html_only_reply_is_cut_above_outlook_divrplyfwdmsg():
    html = ('<html><body><div>Escalate - nobody replied</div><div id="divRplyFwdMsg"><b>From:</b> Escalations'
            '<br><b>Sent:</b> today</div><div>RESOLVED when agreed</div></body></html>')
    raw = mail(html, extra="Content-Type: text/html; charset=utf-8\r\n")
    parsed = parse_message(raw)
    assert (parsed.command, parsed.statement) == ("escalate", "nobody replied")


def test_envelope_facts_are_parsed_once_and_normalised():
    extra = ("Date: Tue, 24 Nov 2026 09:12:33 +0000\r\nReply-To: Team <Team@Health.example.test>\r\n"
             "Authentication-Results: mx; spf=pass\r\nAuthentication-Results: mx; dkim=fail\r\n")
    parsed = parse_message(mail("Resolved", subject="=?utf-8?q?RE:_[ESC-2026-0042]_caf=C3=A9?=\r\n notice", extra=extra))
    assert parsed.sender == "sam.carter@health.example.test" and parsed.sender_name == "Sam Carter"
    assert parsed.reply_to == "team@health.example.test"
    assert parsed.subject == "RE: [ESC-2026-0042] café notice"
    assert parsed.message_id == "m1@health.example.test"
    assert parsed.date is not None and parsed.date.utcoffset() is not None
    assert parsed.auth_results == ("mx; spf=pass", "mx; dkim=fail")


def test_contract_object_has_exactly_the_documented_keys():
    result = parse_message(mail("Resolved - agreed")).to_contract()
    assert list(result) == ["kind", "case_ref", "command", "statement", "fields", "errors", "warnings"]
    assert result["fields"] is None and result["statement"] == "agreed"
