"""What identifies a child or adult, found in the words of an escalation (parser/personal_data.py)."""
from __future__ import annotations

import pytest

from bench.bench_personal_data import DATA, HOLDOUT, fields_of, overlaps
from parser.personal_data import intake_passages, passages, reference_passages

PROS = ("Drew Sample", "Casey Tester", "Riley Sample")


@pytest.mark.parametrize("text, found", [
    ("DOB 03/04/2019", [("dob", "03/04/2019")]),
    ("she was born on 3rd March 2018", [("dob", "3rd March 2018")]),
    ("NHS number 999 000 0018", [("nhs", "999 000 0018")]),
    ("record 9990000018 shows", [("nhs", "9990000018")]),
    ("NHS no 123 456 7890", [("nhs", "123 456 7890")]),  # said to be one: a typo is still one
    ("lives at 12 Acacia Avenue", [("address", "12 Acacia Avenue")]),
    ("at Flat 3, 14 Mill Lane", [("address", "Flat 3, 14 Mill Lane")]),
    ("postcode WV10 6QZ", [("postcode", "WV10 6QZ")]),
    ("mobile 07700 900123", [("phone", "07700 900123")]),
    ("landline (01632) 960 111", [("phone", "(01632) 960 111")]),
    ("the mother, Kerry Jones, said", [("name", "Kerry Jones")]),
    ("Mrs Hughes declined", [("name", "Mrs Hughes")]),
    ("Kwame Hughes was seen", [("name", "Kwame Hughes")]),  # a given name the dictionary lacks, a common surname
])
def test_each_kind_of_personal_data_is_found_with_its_words(text, found):
    assert [(p.kind, p.words) for p in passages("reasons", text, PROS)] == found


@pytest.mark.parametrize("text", [
    "Drew Sample declined the referral on 20/11/2026; Casey Tester disagreed.",
    "Ms Sample's manager agreed.", "MASH were told on 01902 555392; IFD 01403 229900; or 999.",
    "LCS-204117 and ESC-2026-0042", "The child, aged 7, attends Grace Academy.",
    "The Royal Wolverhampton NHS Trust and West Midlands Police were told.",
    "An Early Help Assessment was refused by Health Visiting.", "Jamie attends nursery.",
    "Mohammed Ali Way is the site of the new Family Hub.", "Child A and Sibling B were seen together.",
    "The decision of 20/11/2026 was confirmed on 21/11/2026 at 14:30.",
])
def test_what_identifies_nobody_is_left_alone(text):
    assert passages("reasons", text, PROS) == []


@pytest.mark.parametrize("value, flagged", [
    ("Jamie Robert Smith", True), ("Smith, Jamie", True), ("jamie smith", True), ("Jamie", True),
    ("LCS-123456", False), ("Child A", False), ("Baby K", False), ("CH-1001-TEST", False), ("Sibling group 4", False),
])
def test_a_name_used_as_the_case_reference(value, flagged):
    found = reference_passages("case_reference", value, PROS)
    assert bool(found) == flagged and all(p.kind == "name_reference" for p in found)


@pytest.mark.parametrize("path", [DATA, HOLDOUT], ids=["tuned", "holdout"])
def test_the_labelled_intakes_meet_the_aim(path):
    """bench/bench_personal_data.py's figures, as a floor: >= 95 % caught, <= 5 % of clean held."""
    import json

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    caught = total = held = clean = 0
    for row in rows:
        found = intake_passages(fields_of(row))
        for label in row["identifying"]:
            total += 1
            caught += any(f.field == label["field"] and overlaps(f.words, label["words"]) for f in found)
        clean += not row["identifying"]
        held += bool(found) and not row["identifying"]
    assert caught / total >= 0.95 and held / clean <= 0.05


@pytest.mark.parametrize("cue", ["born", "DOB", "date of birth", "lives at", "home address", "Mr", "the mother,",
                                 "flat 1", "1", "Jamie", "known as", "NHS", "+44"])
@pytest.mark.parametrize("filler", [" " * 45_000, "\n" * 45_000, " \t" * 22_000, "a" * 45_000, "Aa " * 15_000])
def test_hostile_text_is_read_in_bounded_time(cue, filler):
    """Every run of spaces in the rules is bounded: a cue before 45,000 spaces or letters is
    read in one pass (before, two runs either side of an optional token tried every split)."""
    found = passages("reasons", cue + filler + "x")  # what it finds is beside the point: that it comes back
    assert all(len(p.words) < 100 for p in found)
    assert len(reference_passages("case_reference", cue + filler)) <= 1
