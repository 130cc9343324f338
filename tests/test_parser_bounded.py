"""Every parsing step is linear (or bounded) in its input.

No test here is timed: each input is one the old code could not finish (a quadratic or
cubic step on hundreds of thousands of characters), so a regression hangs the test rather
than slowing it. The figures are in bench/bench_hostile.py.
"""
from __future__ import annotations

import io
import zipfile

from parser import parse_message
from parser.bounce import _TEXT_RULES
from parser.caps import cap_raw
from parser.docx_form import docx_text
from parser.html import cut_quoted_html, html_to_text
from parser.message import _FORWARD_BODY_RE
from parser.people import _BARE_RE, parse_person
from parser.personal_data import find_personal_data
from parser.reply import LIBRARY_LINE_CHARS, _skeleton, new_text

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx_with(body_xml: str) -> bytes:
    """A minimal .docx: the one part the form reader opens."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", f"<w:document {W}><w:body>{body_xml}</w:body></w:document>")
    return buffer.getvalue()


def cell(text: str, merge: str | None = None) -> str:
    props = f'<w:tcPr><w:vMerge w:val="{merge}"/></w:tcPr>' if merge == "restart" else \
        ("<w:tcPr><w:vMerge/></w:tcPr>" if merge else "")
    return f"<w:tc>{props}<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


def test_a_long_person_value_without_an_address_is_read_once():
    # _BARE_RE used to start a match at every character: 1.2 s at 10,000, no end at 500,000
    assert _BARE_RE.findall("x" * 500_000) == []
    person, problem = parse_person("Sam Carter, Health Visitor " + "x" * 500_000)
    assert (person.name, problem) == ("Sam Carter", "no email address")


def test_an_address_is_still_found_as_a_whole_token():
    assert _BARE_RE.findall("Sam (mailto:sam.carter@health.example.test), HV") == ["sam.carter@health.example.test"]
    person, _ = parse_person("Sam Carter, HV, Health mailto:sam.carter@health.example.test")
    assert (person.name, person.agency, person.email) == ("Sam Carter", "Health", "sam.carter@health.example.test")


def test_html_with_tags_left_open_is_scanned_once():
    html = "<div " * 80_000  # did not finish in 120 s
    assert cut_quoted_html(html) == html
    assert cut_quoted_html(html + '<div id="divRplyFwdMsg">old') == html
    assert html_to_text("<br " * 80_000 + "<" * 100_000) is not None


def test_the_reply_library_is_handed_short_lines_and_short_blank_runs():
    lines = ["on " * 20_000] + [""] * 20_000 + ["b"]  # 37 s and 18 s in the library before
    skeleton, origin = _skeleton(lines)
    assert max(map(len, skeleton)) == LIBRARY_LINE_CHARS
    assert skeleton == [lines[0][:LIBRARY_LINE_CHARS], "", "", "b"]
    assert origin == [0, 1, 2, len(lines) - 1]


def test_a_reply_keeps_every_character_of_a_long_line():
    long_line = "the plan " * 1_000
    text = f"UPDATE: {long_line}\n\n" + "\n" * 5_000 + "On Tue, 24 Nov 2026, Sam wrote:\n> old"
    assert new_text(text)[0] == f"UPDATE: {long_line}".strip()
    raw = ("From: sam@health.example.test\nSubject: RE: [ESC-2026-0042] x\n\nUPDATE: " + long_line).encode()
    assert parse_message(raw).statement == long_line.strip()


def test_a_docx_table_with_merged_rows_is_read_in_one_walk():
    # python-docx's row.cells looked every merged cell up from the rows above: cubic
    rows = [f"<w:tr>{cell('Reasons' if i == 0 else '', 'restart' if i == 0 else 'continue')}{cell(f'line {i}')}</w:tr>"
            for i in range(3_000)]
    text = docx_text(docx_with(f"<w:tbl>{''.join(rows)}</w:tbl>"))
    lines = text.split("\n")
    assert lines[:2] == ["Reasons\tline 0", "\tline 1"]
    assert len(lines) == 2_000  # MAX_LINES


def test_a_docx_reads_paragraphs_tabs_and_table_rows_in_order():
    body = ("<w:p><w:r><w:t>Case reference</w:t><w:tab/><w:t>LCS-1</w:t></w:r></w:p>"
            f"<w:tbl><w:tr>{cell('Category')}{cell('threshold')}</w:tr></w:tbl>")
    assert docx_text(docx_with(body)) == "Case reference\tLCS-1\nCategory\tthreshold"


def test_a_docx_entity_is_never_expanded():
    bomb = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "' + "x" * 1000 + '">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", bomb + f"<w:document {W}><w:body><w:p><w:r><w:t>&c;</w:t>"
                                                      "</w:r></w:p></w:body></w:document>")
    assert len(docx_text(buffer.getvalue())) < 1_000


def test_personal_data_patterns_do_not_backtrack_over_spaces():
    # `\s*[:\-]?\s*` split a run of spaces every possible way: 14 s at 10,000 spaces
    assert find_personal_data("dob" + " " * 45_000) == []
    assert find_personal_data("child name" + " " * 45_000 + "x") == []
    assert find_personal_data("DOB:   20/11/2019") == ["dob"]


def test_line_start_patterns_do_not_run_over_blank_lines():
    # `^\s*` (MULTILINE) re-scanned every following blank line from every line start
    assert _FORWARD_BODY_RE.search("> \n" * 200_000 + "x") is None
    assert _FORWARD_BODY_RE.search("> \n>   ---------- Forwarded message ---------\n")
    text = " \n" * 200_000 + "x"
    assert [rule.search(text) for rule in _TEXT_RULES] == [None] * len(_TEXT_RULES)
    gmail = "Delivery to the following recipient failed permanently:\n\n     sam@health.example.test\n"
    assert _TEXT_RULES[4].search(gmail).group(1) == "sam@health.example.test"
    assert _TEXT_RULES[4].search("delivery to the following recipient failed\n" + " " * 200_000 + "x") is None


def test_a_bounce_address_splits_one_way_only():
    # "@" in both halves of the address pattern let "<@@@…" be split every way before ">" failed
    text = "Could not be delivered to: <" + "@" * 100_000
    assert [rule.search(text) for rule in _TEXT_RULES] == [None] * len(_TEXT_RULES)
    assert _TEXT_RULES[1].search("Could not be delivered to: <drew@health.example.test>").group(1) == \
        "drew@health.example.test"


def test_a_content_type_of_many_parameters_keeps_its_value_and_boundary():
    # the email package's _parseparam is quadratic in a header's length; the feedparser calls it
    raw = b"Content-Type: multipart/mixed; " + b"a=b; " * 100_000 + b'boundary="xx"\r\n\r\n--xx\r\n'
    assert cap_raw(raw) == (b'Content-Type: multipart/mixed; boundary="xx"\n\n--xx\n', False)  # shortened, not cut
