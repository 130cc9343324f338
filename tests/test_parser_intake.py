"""Intake: labels in every layout, values, dates, categories, people, personal data."""
from __future__ import annotations

import datetime

import pytest

from parser import CATEGORIES, parse_message
from parser.categories import match_category
from parser.dates import parse_uk_date
from parser.intake import read_labels
from parser.people import parse_person
from parser.personal_data import find_personal_data, nhs_checksum_ok

FULL = """Case reference: LCS-1
Immediate risk: no
Category: threshold
Raised by: Jo Bloggs, Social Worker, Children's Services
Disagreement with: Sam Carter, Health Visitor, Health <sam@health.example.test>
Decision disputed: closed
Date of decision: 20/11/2026
Reasons: missed visits
Outcome sought: reopen
"""


def mail(body: str, subject: str = "Escalation", sender: str = "Jo <Jo.Bloggs@Council.example.test>") -> bytes:
    return (f"From: {sender}\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 09:00:00 +0000\r\n\r\n{body}").encode()


@pytest.mark.parametrize("line", [
    "Case reference: LCS-1", "case reference:LCS-1", "  CASE REFERENCE  -  LCS-1", "• Case reference: LCS-1",
    "- Case reference: LCS-1", "* **Case reference:** LCS-1", "*Case reference:* LCS-1", "1. Case reference: LCS-1",
    "Case reference\tLCS-1", "Case reference      LCS-1", "Client reference: LCS-1", "Child reference – LCS-1",
    "> Case reference: LCS-1",
])
def test_a_label_is_read_in_any_layout(line):
    assert read_labels(line) == {"case_reference": ["LCS-1"]}


def test_a_label_alone_takes_the_value_from_the_following_lines():
    assert read_labels("Reasons:\n\nfirst\nsecond\nOutcome sought\nreopen") == {
        "reasons": ["", "", "first", "second"], "outcome_sought": ["", "reopen"]}


def test_a_sentence_starting_with_a_label_word_is_not_a_label():
    assert read_labels("Reasons: a\nAbout the family we know little") == {"reasons": ["a", "About the family we know little"]}


def test_raised_by_email_defaults_to_the_sender():
    fields = parse_message(mail(FULL)).fields
    assert fields.raised_by.email == "jo.bloggs@council.example.test"
    assert fields.raised_by.agency == "Children's Services"


def test_a_forward_does_not_lend_the_forwarder_as_raiser():
    parsed = parse_message(mail(FULL, subject="FW: Escalation", sender="amy@council.example.test"))
    assert parsed.kind == "intake" and parsed.fields.raised_by.email is None
    assert [e.field for e in parsed.errors] == ["raised_by"]


def test_an_intake_missing_everything_is_still_an_intake_naming_each_required_field():
    parsed = parse_message(mail("Please escalate this for me"))
    assert parsed.kind == "intake"
    assert sorted(e.field for e in parsed.errors) == sorted([
        "case_reference", "immediate_risk", "category", "raised_by", "other_party",
        "decision_disputed", "decision_date", "reasons", "outcome_sought"])
    assert all("Add a line" in e.message for e in parsed.errors)


def test_three_required_labels_make_an_intake_without_the_subject_word():
    assert parse_message(mail(FULL, subject="Health visiting")).kind == "intake"
    assert parse_message(mail("Case reference: LCS-1", subject="Health visiting")).kind == "invalid"


@pytest.mark.parametrize("value, expected", [
    ("2026-11-20", datetime.date(2026, 11, 20)), ("20/11/2026", datetime.date(2026, 11, 20)),
    ("20 Nov 2026", datetime.date(2026, 11, 20)), ("Friday 20th November 2026", datetime.date(2026, 11, 20)),
    ("1st of March 2026", datetime.date(2026, 3, 1)), ("05/03/2026", datetime.date(2026, 3, 5)),
    ("20-11-26", datetime.date(2026, 11, 20)), ("11/20/2026", None), ("31/11/2026", None), ("last week", None),
])
def test_dates_are_read_day_first(value, expected):
    assert parse_uk_date(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("threshold", CATEGORIES[0]), ("Level of need", CATEGORIES[0]), ("Roles & responsibilities", CATEGORIES[1]),
    ("plan not meeting needs", CATEGORIES[2]), ("information sharing", CATEGORIES[3]), ("Case closure", CATEGORIES[4]),
    ("agreed action not completed", CATEGORIES[5]), ("whether police should be involved", CATEGORIES[6]),
    ("CP plan refused", CATEGORIES[7]), ("Provision of services", CATEGORIES[8]),
    ("several professionals concerned", CATEGORIES[9]), ("Other", CATEGORIES[10]), ("bananas", None),
])
def test_categories_match_loosely(value, expected):
    assert match_category(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("Sam Carter, Health Visitor, Health <Sam.Carter@Health.example.test>",
     ("Sam Carter", "Health Visitor", "Health", "sam.carter@health.example.test")),
    ("sam@health.example.test", (None, None, None, "sam@health.example.test")),
    ("Sam Carter <sam@health.example.test>", ("Sam Carter", None, None, "sam@health.example.test")),
    ("Sam Carter sam@health.example.test<mailto:sam@health.example.test>", ("Sam Carter", None, None, "sam@health.example.test")),
])
def test_people_are_name_role_agency_email(value, expected):
    person, problem = parse_person(value)
    assert problem is None and (person.name, person.role, person.agency, person.email) == expected


def test_an_invalid_email_is_named_not_kept():
    person, problem = parse_person("Sam <sam@@health.example.test>")
    assert person.email is None and "not a valid email address" in problem


def test_nhs_numbers_need_a_valid_check_digit():
    assert nhs_checksum_ok("9990000018") and not nhs_checksum_ok("9990000017") and not nhs_checksum_ok("1234567890")
    assert find_personal_data("NHS 999 000 0018") == ["nhs"]
    assert find_personal_data("ref 9990000017 and 1234567890") == []


@pytest.mark.parametrize("text, found", [
    ("DOB 03/04/2019", ["dob"]), ("date of birth: 3 April 2019", ["dob"]), ("postcode WV10 6QZ", ["postcode"]),
    ("mobile 07700 900123", ["phone"]), ("+44 7700 900123", ["phone"]), ("child's name: Jane Example", ["name"]),
    ("MASH 01902 555392, adults 01902 551199, IFD 01403 229900, or 999", []),
    ("decision on 20/11/2026 by the team", []), ("LCS-204117 and ESC-2026-0042", []),
])
def test_personal_data_is_flagged_but_published_numbers_are_not(text, found):
    assert find_personal_data(text) == found


def test_warnings_do_not_block_the_intake():
    parsed = parse_message(mail(FULL.replace("missed visits", "missed visits, DOB 01/02/2019")))
    assert parsed.kind == "intake" and parsed.errors == ()
    assert [(w.field, w.message.split(".")[0]) for w in parsed.warnings] == [
        ("reasons", "possible personal data: a date of birth")]


@pytest.mark.parametrize("line,looked_after,error", [
    ("Looked after: yes", True, False), ("* **Looked-after child** - Yes", True, False),
    ("Child looked after: no", False, False), ("", False, False),
    ("Looked after: the council, since March", False, True)])
def test_looked_after_is_optional_default_no_and_never_guessed(line, looked_after, error):
    body = FULL.replace("Reasons:", f"{line}\nReasons:") if line else FULL
    msg = parse_message(mail(body))
    assert msg.kind == "intake" and msg.fields.looked_after is looked_after
    assert ("looked_after" in {e.field for e in msg.errors}) is error
    assert msg.to_contract()["fields"]["looked_after"] is looked_after


@pytest.mark.parametrize("text,command,statement", [
    ("ROUTE\nNat Named, Named Nurse, Example Health <nat@health.example.test>\n\nKit <kit@health.example.test>",
     "route", "Nat Named, Named Nurse, Example Health <nat@health.example.test>\nKit <kit@health.example.test>"),
    ("Correct: a@b.example.test -> c@b.example.test", "correct", "a@b.example.test -> c@b.example.test")])
def test_business_supports_keywords_are_read_one_person_a_line(text, command, statement):
    msg = parse_message(b"From: business@partnership.example.test\nSubject: RE: [ESC-2026-0042] x\n\n" + text.encode())
    assert (msg.command, msg.statement) == (command, statement)
