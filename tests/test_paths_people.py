"""Issue 18, points 1-3, through the Maildir inbox: business support routes and corrects by
mail and may UPDATE any case; a stage with one side missing says which; West Sussex brings
the IRO and the CP chairs onto a case; Wiltshire's imminent risk goes straight to the
Board's nominated person."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.helpers.harness import LONDON
from tests.helpers.scenarios import DSL, SUPPORT, Scenario, text_of
from tracker.storage.models import Case

RAISER = "casey.tester@council.example.test"
OTHER = "drew.sample@health.example.test"
SCHOOL_HEAD = "hal.head@school.example.test"
COUNCIL_ONLY = {"directory": [{"agency": "Example Council", "domains": ["council.example.test"],
                               "senior_manager": "Sol Senior, Head of Service <sol.senior@council.example.test>"}]}


START = datetime(2026, 11, 23, 10, tzinfo=LONDON)  # a Monday


def playing(tmp_path, policy: str, extra: dict | None):
    s = Scenario(tmp_path, policy, START, extra)
    yield s
    s.close()


@pytest.fixture
def wolverhampton(tmp_path):
    yield from playing(tmp_path, "wolverhampton", COUNCIL_ONLY)


def past_due(s: Scenario) -> None:
    s.clock.now = s.case().stage_due_at + timedelta(minutes=1)
    s.h.run()


def test_a_stage_with_one_side_unknown_is_routed_by_business_support_and_the_raiser_told_truthfully(wolverhampton):
    s = wolverhampton
    s.raise_case()
    past_due(s)
    past_due(s)  # stage 3: the council's senior manager is known, nobody at Example Health
    assert s.case().stage == "3"
    request = s.mail("route_request", SUPPORT)
    words = text_of(request)
    assert "the receiving agency (Example Health): nobody is known as its senior manager or designated lead" in words
    assert "ROUTE" in words and "escalations case" not in words
    assert [a.get_filename() for a in request.iter_attachments()] == ["ESC-2026-0001-record.html"]
    feedback = text_of(s.mails("escalation_feedback", RAISER)[-1])
    assert "Sol Senior, Head of Service, Example Council <sol.senior@council.example.test> — named for stage 3" in feedback
    assert "Still being found" in feedback and "Example Health" in feedback
    assert "The people for this stage have been told" not in feedback

    s.new()
    s.reply(request, SUPPORT, "ROUTE\nNat Named, Named Nurse, Example Health <nat.named@health.example.test>\n")
    assert sorted(s.new()) == [("routed", "nat.named@health.example.test"), ("routed_feedback", RAISER),
                               ("support_done", SUPPORT)]
    routed = s.mail("routed", "nat.named@health.example.test")
    assert "Business support has added you to case ESC-2026-0001" in text_of(routed)
    assert "case opened at stage 1" in text_of(routed)  # the case so far
    assert any(a.get_content_type() == "text/calendar" for a in routed.iter_attachments())
    nat = next(p for p in s.people() if p.email == "nat.named@health.example.test")
    assert (nat.stage, nat.side, nat.agency) == ("3", "other", "Example Health")
    assert "Nat Named" in text_of(s.mail("routed_feedback", RAISER))

    s.reply(routed, "nat.named@health.example.test", "RESOLVED: assessment to start Monday")
    assert s.case().status == "resolved" and s.verified()


def test_business_support_updates_any_case_and_corrects_a_mistyped_address(wolverhampton):
    s = wolverhampton
    s.raise_case(Disagreement_with="Drew Sample, Health Visitor, Example Health <drew.sampel@health.example.test>")
    notice = s.mail("notice", "drew.sampel@health.example.test")
    s.reply(notice, SUPPORT, "UPDATE: spoke to the health visiting team; the address is being checked")
    update = s.mail("update", RAISER)
    assert "business support (business@partnership.example.test) added a note" in text_of(update)
    s.new()
    s.reply(notice, SUPPORT, "CORRECT drew.sampel@health.example.test -> drew.sample@health.example.test")
    assert sorted(s.new()) == [("notice", OTHER), ("support_done", SUPPORT)]
    assert {p.email for p in s.people()} >= {OTHER} and "drew.sampel@health.example.test" not in {
        p.email for p in s.people()}
    assert "now drew.sample@health.example.test everywhere" in text_of(s.mail("support_done", SUPPORT))
    s.reply(s.mail("notice", OTHER), OTHER, "ACKNOWLEDGED")
    assert s.case().acknowledged_at is not None
    kinds = [e.kind for e in s.events()]
    assert "corrected" in kinds and kinds.count("update") == 1 and s.verified()


def test_business_support_is_told_why_an_outside_address_is_not_routed_or_put_in(wolverhampton):
    s = wolverhampton
    s.raise_case()
    notice = s.mail("notice", OTHER)
    s.new()
    s.reply(notice, SUPPORT, "CORRECT drew.sample@health.example.test -> drew.sample@evil.example")
    s.reply(notice, SUPPORT, "ROUTE\nEve Outside, Head of Service, Example Health <eve@evil.example>")
    assert sorted(s.new()) == [("support_refused", SUPPORT), ("support_refused", SUPPORT)]  # nobody else mailed
    for said in map(text_of, s.mails("support_refused", SUPPORT)):
        assert "outside the partnership's agencies" in said and "partner_domains" in said
    assert OTHER in {p.email for p in s.people()}
    assert not {"drew.sample@evil.example", "eve@evil.example"} & {p.email for p in s.people()}
    assert not {"corrected", "routed"} & {e.kind for e in s.events()} and s.verified()


def test_a_party_cannot_route_and_a_stranger_learns_nothing(wolverhampton):
    s = wolverhampton
    s.raise_case()
    notice = s.mail("notice", OTHER)
    s.new()
    s.reply(notice, OTHER, "Correct, the threshold was applied as agreed")
    s.reply(notice, "someone@council.example.test", "ROUTE\nMe <someone@council.example.test>")
    assert s.new() == [("no_keyword", OTHER), ("not_a_party", "someone@council.example.test")]
    assert len(s.people()) == 4


def test_a_directory_change_reaches_an_open_case_at_its_next_step(tmp_path):
    start = START
    before = Scenario(tmp_path, "wolverhampton", start, COUNCIL_ONLY)
    before.raise_case()
    before.close()
    health = {"agency": "Example Health", "domains": ["health.example.test"],
              "designated_lead": "Nat Named <nat.named@health.example.test>"}
    after = Scenario(tmp_path, "wolverhampton", start, {"directory": COUNCIL_ONLY["directory"] + [health]})
    past_due(after)
    past_due(after)
    assert after.case().stage == "3" and after.mails("route_request") == []
    assert len(after.mails("escalated", "nat.named@health.example.test")) == 1
    after.close()


# --- West Sussex -----------------------------------------------------------------------------------
WSX = {"directory": [
    {"agency": "West Sussex County Council", "domains": ["council.example.test"],
     "iro": "Ira Reviewing, Independent Reviewing Officer <ira.iro@council.example.test>",
     "cp_chair": "Cy Chair, Child Protection Chair <cy.chair@council.example.test>"}]}


@pytest.fixture
def west_sussex(tmp_path):
    yield from playing(tmp_path, "west-sussex", WSX)


def test_a_looked_after_child_brings_the_iro_onto_the_case_at_every_stage(west_sussex):
    s = west_sussex
    s.raise_case(Looked_after="yes")
    involved = s.mail("involved", "ira.iro@council.example.test")
    words = text_of(involved)
    assert "Independent Reviewing Officer (IRO)" in words and "a party at every stage" in words
    assert "Referral for an early help assessment declined." in words
    assert "Ira Reviewing" in text_of(s.mail("confirmation", RAISER))  # the raiser is told who was told
    assert "Note: Stage 1: this partnership has set 3 working days; the policy gives no number." in text_of(
        s.mail("notice", OTHER))
    past_due(s)
    assert s.case().stage == "2" and s.mails("escalated", "ira.iro@council.example.test")
    s.reply(involved, "ira.iro@council.example.test", "RESOLVED: the care plan review on Friday will settle it")
    assert s.case().status == "resolved"


def test_a_conference_dispute_brings_in_the_cp_chairs_and_a_conference_request_does_too(west_sussex):
    s = west_sussex
    s.raise_case(Category="child protection conference or plan refused")
    assert s.mails("involved", "cy.chair@council.example.test")
    s.raise_case(Case_reference="CH-2002-TEST")
    assert s.mails("involved") and len(s.mails("involved")) == 1
    s.reply(s.mails("notice", OTHER)[-1], OTHER, "CONFERENCE REQUESTED: the plan needs a conference")
    second = [m for m in s.mails("involved", "cy.chair@council.example.test") if "ESC-2026-0002" in m["Subject"]]
    assert len(second) == 1 and "Child Protection Chairs" in text_of(second[0])
    assert s.mails("conference_requested", DSL)


def test_a_looked_after_child_with_no_iro_in_the_directory_is_routed(tmp_path):
    s = Scenario(tmp_path, "west-sussex", START)
    s.raise_case(Looked_after="yes")
    request = s.mail("route_request", SUPPORT)
    assert "Independent Reviewing Officer (IRO)" in text_of(request)
    assert "Still being found" in text_of(s.mail("confirmation", RAISER))
    s.reply(request, SUPPORT, "ROUTE\nIra Reviewing, Independent Reviewing Officer, County Council <ira.iro@council.example.test>")
    assert "a party at every stage" in text_of(s.mail("involved", "ira.iro@council.example.test"))
    iro = next(p for p in s.people() if p.email == "ira.iro@council.example.test")
    assert (iro.role, iro.side, iro.stage) == ("iro", "oversight", None)
    past_due(s)
    assert s.mails("escalated", "ira.iro@council.example.test") and len(s.mails("route_request", SUPPORT)) == 1
    s.close()


# --- Wiltshire: imminent risk ------------------------------------------------------------------------
WILTS = {"directory": [{"agency": "Example Council", "domains": ["council.example.test"],
                        "board_representative": "Rae Rep, WSCB representative <rae.rep@council.example.test>"}],
         "board": {"board_manager": "Bo Manager, Board Manager <bo.manager@partnership.example.test>",
                   "independent_chair": "Ivy Chair, Independent Chair <ivy.chair@partnership.example.test>"}}


COUNCIL_WORKER = "kim.worker@council.example.test"


@pytest.mark.parametrize("raiser,other,nominated", [
    (RAISER, OTHER, "rae.rep@council.example.test"),  # the raiser's agency's nominated representative
    (OTHER, COUNCIL_WORKER, "bo.manager@partnership.example.test")])  # Example Health has none: the Board manager
def test_wiltshire_imminent_risk_is_referred_direct_to_the_boards_nominated_person(tmp_path, raiser, other, nominated):
    s = Scenario(tmp_path, "wiltshire", START, WILTS)
    s.raise_case(sender=raiser, Immediate_risk="yes", Raised_by=f"Pat Worker, Worker, Agency <{raiser}>",
                 Disagreement_with=f"Kim Other, Worker, Agency <{other}>", My_manager=None, Their_manager=None)
    case = s.case()
    assert case.stage == "3" and case.referred_to_board_at is not None
    referral = s.mail("escalated", nominated)
    words = text_of(referral)
    assert "IMMEDIATE RISK referred to you" in str(referral["Subject"]) and "referred straight to stage 3" in words
    assert "the person who raised this says there is an immediate risk" in words and "you said" not in words
    assert "Same-day deadline: the same-day deadline is this partnership's choice" in words
    assert s.mails("immediate_risk_alert", DSL) and s.mails("escalated", "ivy.chair@partnership.example.test")
    assert "you said there is an immediate risk" in text_of(s.mail("confirmation", raiser))
    assert "you said" not in text_of(s.mail("notice", other))
    assert nominated in text_of(s.mail("confirmation", raiser))  # the raiser is told who was told
    s.close()


def test_wolverhampton_immediate_risk_keeps_the_same_day_rule_and_the_mash_numbers(wolverhampton):
    s = wolverhampton
    s.raise_case(Immediate_risk="yes")
    case: Case = s.case()
    local = s.h.app.partnership.calendar.local(case.stage_due_at)
    assert case.stage == "1" and (local.date().isoformat(), local.hour) == ("2026-11-23", 17)
    assert "MASH (children): 01902 555392" in text_of(s.mail("confirmation", RAISER))
    notice = text_of(s.mail("notice", OTHER))
    assert "by Monday 23 November 2026, 17:00" in notice and "you said" not in notice
