"""Policy presets against DOMAIN.md's stage tables, config checking, deadlines and the text views."""
import dataclasses
import tomllib
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from tracker.policy.calendar import WorkingCalendar
from tracker.errors import ConfigError
from tracker.policy.build import PRESETS, policy_from_config
from tracker.policy.model import ROLES, deadlines
from tracker.policy.render import deadlines_json, policy_table, presets_summary

UTC = timezone.utc
CAL = WorkingCalendar()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def table(policy):
    return [(s.key, s.working_days, n) for s, n in policy.cumulative()]


# -- the presets reproduce DOMAIN.md --------------------------------------------------------------
def test_wolverhampton_stage_table():
    p = PRESETS["wolverhampton"]
    assert table(p) == [("1", 5, 5), ("2", 2, 7), ("3", 3, 10), ("4", 4, 14), ("exceptional", 5, 19)]
    assert p.total_working_days() == 14 and p.aim_working_days == 10
    exceptional = p.stage("exceptional")
    assert not exceptional.in_chain and exceptional.on_expiry == "final"
    assert [s.on_expiry for s in p.stages] == ["escalate", "escalate", "escalate", "notify_raiser", "final"]
    assert p.stage("1").name == "Practitioners"
    assert p.stage("2").parties == ("line_manager", "safeguarding_lead")
    assert "independent_chair" in exceptional.parties and "board_manager" in exceptional.parties
    assert p.assumptions == () and not any(s.assumption for s in p.stages)


def test_wolverhampton_steps_and_conference():
    p = PRESETS["wolverhampton"]
    limits = {s.key: [(t.working_days, t.hours, t.counts_from) for t in s.steps] for s in p.stages}
    assert limits["1"] == [(2, None, "decision"), (3, None, "previous_step"), (2, None, "resolution")]
    assert limits["2"] == [(2, None, "stage_start"), (2, None, "resolution")]
    assert limits["3"][:2] == [(None, 24, "stage_start"), (2, None, "previous_step")]
    assert limits["4"] == [(2, None, "stage_start"), (2, None, "previous_step")]
    assert [t.working_days for t in p.stage("exceptional").steps] == [2, 5]
    assert "referred in writing within 24 hours" in p.stage("3").steps[0].description
    assert [s.key for s in p.stages if s.may_request_conference] == ["3"]


def test_wolverhampton_immediate_risk_and_contacts():
    p = PRESETS["wolverhampton"]
    assert "same working day" in p.immediate_risk
    assert ("MASH (children)", "01902 555392") in p.emergency_contacts
    assert ("MASH (adults)", "01902 551199") in p.emergency_contacts
    assert ("Immediate danger", "999") in p.emergency_contacts


def test_wiltshire_stage_table():
    p = PRESETS["wiltshire"]
    assert [s.key for s in p.stages] == ["pre-escalation", "1", "2", "3"]
    through_stage_2 = dict((s.key, n) for s, n in p.cumulative())["2"]
    assert through_stage_2 <= 5  # "no longer than 5 working days" before Board referral
    assert p.stage("3").working_days == 3 and p.stage("3").on_expiry == "final"
    assert [s.key for s in p.stages if s.assumption] == ["pre-escalation", "1", "2"]
    assert "5 working days" in p.stage("1").assumption
    assert p.immediate_risk_stage == "3" and "nominated person" in p.immediate_risk
    assert p.stage("pre-escalation").name == "Professional : Professional"
    assert "head_of_service" in p.stage("2").parties


def test_essex_stage_table():
    p = PRESETS["essex"]
    assert [s.parties[0] for s in p.stages] == ["practitioner", "line_manager", "designated_lead", "qa_chair",
                                                "board_chair", "risk_management_panel"]
    assert all(s.assumption and "assumption" in s.assumption for s in p.stages)
    assert p.stages[-1].on_expiry == "final" and "Risk Management Panel" in p.final_route
    assert any("Whistleblowing" in n for n in p.notes)


def test_west_sussex_stage_table():
    p = PRESETS["west-sussex"]
    assert p.stage("2").name == "Level 2: manager to manager"
    assert all(s.assumption for s in p.stages)
    assert {(i.role, i.when) for i in p.involve} == {("iro", "looked_after"), ("cp_chair", "conference")}
    assert all("Independent Reviewing Officer" in i.why or "Child Protection Chairs" in i.why for i in p.involve)
    assert ("Integrated Front Door (IFD)", "01403 229900") in p.emergency_contacts
    assert ("Immediate danger (Police)", "999") in p.emergency_contacts


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_sound(name):
    p = PRESETS[name]
    assert p.name == name and p.source.startswith("seeds/")
    assert all(set(s.parties) <= set(ROLES) for s in p.stages)
    assert p.stages[-1].on_expiry == "final"
    assert p.emergency_contacts and p.immediate_risk and p.final_route
    assert len(p.assumptions) == len([s for s in p.stages if s.assumption]) + len(
        [a for a in p.assumptions if not a.startswith("stage ")])


def test_policy_navigation():
    p = PRESETS["wolverhampton"]
    assert p.first().key == "1" and p.next_stage("3").key == "4"
    assert p.next_stage("exceptional") is None and p.stage(2).key == "2"
    with pytest.raises(KeyError, match="no stage '9'"):
        p.stage("9")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.stages[0].working_days = 1


# -- deadlines ----------------------------------------------------------------------------------------
def test_deadlines_json_christmas_eve_2026():
    assert deadlines_json(PRESETS["wolverhampton"], CAL, utc(2026, 12, 24, 16)) == {
        "policy": "wolverhampton", "raised": "2026-12-24T16:00:00+00:00",
        "stages": [
            {"stage": "1", "name": "Practitioners", "due": "2027-01-05T17:00:00+00:00"},
            {"stage": "2", "name": "Line / Team Managers", "due": "2027-01-07T17:00:00+00:00"},
            {"stage": "3", "name": "Service / Senior Managers", "due": "2027-01-12T17:00:00+00:00"},
            {"stage": "4", "name": "Director / Assistant Directors", "due": "2027-01-18T17:00:00+00:00"},
            {"stage": "exceptional", "name": "Exceptional circumstances: WSB Independent Chair",
             "due": "2027-01-25T17:00:00+00:00"},
        ]}


def test_deadlines_json_reports_the_partnerships_time_whatever_the_input_offset():
    raised = datetime(2026, 6, 3, 5, tzinfo=timezone(timedelta(hours=-4)))
    out = deadlines_json(PRESETS["wiltshire"], CAL, raised)
    assert out["raised"] == "2026-06-03T10:00:00+01:00"  # London's summer time, with its offset
    assert [s["stage"] for s in out["stages"]] == ["pre-escalation", "1", "2", "3"]
    assert out["stages"][2]["due"] == "2026-06-10T17:00:00+01:00"  # 5 WD, 17:00 BST
    with pytest.raises(ValueError, match="aware"):
        deadlines_json(PRESETS["wiltshire"], CAL, datetime(2026, 6, 3, 10))


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(sorted(PRESETS)))
def test_each_stage_is_due_its_cumulative_working_days_after_raising(raised, name):
    p = PRESETS[name]
    dues = deadlines(p, CAL, raised)
    assert [s for s, _ in dues] == list(p.stages)
    assert [due for _, due in dues] == [CAL.due(raised, n) for _, n in p.cumulative()]


def test_immediate_risk_is_due_the_same_working_day():
    p = PRESETS["wolverhampton"]
    (first, due), (second, due2), *_ = deadlines(p, CAL, utc(2026, 11, 18, 10), immediate_risk=True)
    assert first.key == "1" and due == utc(2026, 11, 18, 17)
    assert second.key == "2" and due2 == utc(2026, 11, 19, 17)  # each later stage: its own same-day rule
    (_, late), *_ = deadlines(p, CAL, utc(2026, 11, 20, 17, 30), immediate_risk=True)  # Friday after close
    assert late == utc(2026, 11, 23, 17)


def test_wiltshire_immediate_risk_goes_straight_to_the_board():
    dues = deadlines(PRESETS["wiltshire"], CAL, utc(2026, 11, 18, 10), immediate_risk=True)
    assert [(s.key, d) for s, d in dues] == [("3", utc(2026, 11, 18, 17))]


# -- config ---------------------------------------------------------------------------------------------
def test_preset_by_name_is_the_preset():
    assert policy_from_config({"preset": "essex"}) is PRESETS["essex"]


def test_overrides_from_toml_replace_an_assumed_number():
    section = tomllib.loads("""
[policy]
preset = "essex"
emergency_contacts = [["Children and Families Hub", "0000 000000"], ["Immediate danger", "999"]]
[policy.overrides."1"]
working_days = 2
[policy.overrides."6"]
working_days = 15
assumption = "Panel meets fortnightly"
""")["policy"]
    p = policy_from_config(section)
    assert table(p)[0] == ("1", 2, 2) and p.stage("1").assumption is None
    assert p.stage("6").working_days == 15 and p.stage("6").assumption == "Panel meets fortnightly"
    assert p.stage("2").assumption == PRESETS["essex"].stage("2").assumption
    assert not any(a.startswith("emergency_contacts") for a in p.assumptions)
    assert p.emergency_contacts[0] == ("Children and Families Hub", "0000 000000")


def test_a_partnerships_own_policy():
    section = tomllib.loads("""
[policy]
name = "somewhere"
title = "Somewhere LSCP"
[[policy.stages]]
key = "1"
name = "Practitioners"
parties = ["practitioner"]
working_days = 3
[[policy.stages]]
key = "2"
name = "Managers"
parties = ["line_manager"]
working_days = 2
on_expiry = "final"
steps = [{name = "In writing", hours = 24}]
""")["policy"]
    p = policy_from_config(section)
    assert table(p) == [("1", 3, 3), ("2", 2, 5)]
    assert p.stage("2").steps[0].hours == 24
    assert p.emergency_contacts == (("Immediate danger", "999"),)


def _custom(**stage_3):
    stage = {"key": "3", "name": "Seniors", "parties": ["senior_manager"], "working_days": 3, "on_expiry": "final"}
    stage.update(stage_3)
    return {"name": "x", "stages": [
        {"key": "1", "name": "A", "parties": ["practitioner"], "working_days": 2},
        {"key": "2", "name": "B", "parties": ["line_manager"], "working_days": 2}, stage]}


@pytest.mark.parametrize("section, key, message", [
    ({"name": "x", "stages": []}, "policy.stages", "at least one stage"),
    ({"name": "x"}, "policy.preset", "set a preset .* or define stages"),
    ({"name": "x", "stages": "1,2"}, "policy.stages", "a list of stage tables"),
    ({"stages": _custom()["stages"]}, "policy.name", "is required"),
    (_custom(working_days=-1), "policy.stages[2].working_days",
     "must be a whole number of working days, 0 or more .*got -1"),
    (_custom(working_days=True), "policy.stages[2].working_days", "whole number of working days"),
    (_custom(working_days=2.5), "policy.stages[2].working_days", "whole number of working days"),
    (_custom(parties=["social_worker"]), "policy.stages[2].parties", "unknown party 'social_worker'"),
    (_custom(parties=[]), "policy.stages[2].parties", "at least one role"),
    (_custom(key="2"), "policy.stages[2].key", "listed twice"),
    (_custom(on_expiry="escalate"), "policy.stages[2].on_expiry", "no next stage"),
    (_custom(on_expiry="shrug"), "policy.stages[2].on_expiry", "escalate, notify_raiser, final"),
    (_custom(workingdays=3), "policy.stages[2].workingdays", "unknown key"),
    (_custom(steps=[{"name": "x", "hours": 0}]), "policy.stages[2].steps[0].hours", "1 or more"),
    ({**_custom(), "immediate_risk_stage": "9"}, "policy.immediate_risk_stage", "names no stage"),
    ({**_custom(), "emergency_contacts": [["MASH"]]}, "policy.emergency_contacts[0]", "label"),
    ({"preset": "devon"}, "policy.preset", "unknown preset 'devon'; choose one of wolverhampton"),
    ({}, "policy.preset", "set a preset"),
    ({"preset": "essex", "stages": []}, "policy.stages", "not both"),
    ({"preset": "essex", "overrides": {"9": {"working_days": 1}}}, 'policy.overrides."9"', "no stage '9'"),
    ({"preset": "essex", "overrides": {"1": {"working_days": -2}}}, 'policy.overrides."1".working_days',
     "0 or more"),
    ({"preset": "essex", "overrides": {"1": {"parties": ["nobody"]}}}, 'policy.overrides."1".parties', "unknown party"),
    ({"preset": "essex", "overide": {}}, "policy.overide", "unknown key"),
])
def test_a_policy_that_makes_no_sense_is_refused(section, key, message):
    with pytest.raises(ConfigError, match=message) as caught:
        policy_from_config(section)
    assert caught.value.key == key


# -- text ------------------------------------------------------------------------------------------------
def test_policy_table_shows_every_stage_and_marks_assumptions():
    text = policy_table(PRESETS["wiltshire"])
    header = next(line for line in text.splitlines() if line.startswith("stage"))
    assert header.split() == ["stage", "name", "parties", "days", "cumulative", "on", "expiry"]
    rows = {line.split()[0]: line for line in text.splitlines() if line.split()[:1] and
            line.split()[0] in {"pre-escalation", "1", "2", "3"}}
    assert rows["1"].split()[-3:] == ["2*", "3", "escalate"]
    assert rows["3"].split()[-7:] == ["3", "8", "final,", "referral", "to", "the", "Board"]
    assert "board_representative (else board_manager)" in rows["3"]
    assert "* assumption, stage 1:" in text and "Final decision: 3 WD" in text


def test_policy_table_brackets_the_exceptional_stage():
    text = policy_table(PRESETS["wolverhampton"])
    assert "(19)" in text and "Total: 14 working days" in text
    assert "01902 555392" in text and "*" not in text


def test_presets_summary_has_one_line_per_preset():
    lines = presets_summary().splitlines()
    assert [line.split()[0] for line in lines] == list(PRESETS)
    assert "total 14 WD" in lines[0]


@pytest.mark.parametrize("toml,key", [
    ('stage_clock = "whenever"', "policy.stage_clock"),
    ('[[policy.involve]]\nrole = "iro"\nwhen = "always"', "policy.involve[0].when"),
    ('[[policy.involve]]\nrole = "reviewer"\nwhen = "looked_after"', "policy.involve[0].role"),
    ('[policy.overrides."3"]\nfallback = {board_representative = "chief"}',
     'policy.overrides."3".fallback.board_representative'),
    ('[policy.overrides."3"]\nboard_referral = "yes"', 'policy.overrides."3".board_referral'),
])
def test_the_new_policy_keys_are_checked_and_the_error_names_the_key(toml, key):
    section = tomllib.loads(f'[policy]\npreset = "wiltshire"\n{toml}\n')["policy"]
    with pytest.raises(ConfigError) as err:
        policy_from_config(section)
    assert err.value.key == key and "\n" not in str(err.value)


def test_a_partnership_sets_its_own_stage_clock_people_brought_in_and_stand_ins():
    section = tomllib.loads("""
[policy]
preset = "essex"
stage_clock = "stage_start"
[[policy.involve]]
role = "iro"
when = "looked_after"
why = "Looked-after children: the IRO."
[policy.overrides."3"]
fallback = {designated_lead = "head_of_service"}
board_referral = true
working_days = 1
""")["policy"]
    p = policy_from_config(section)
    assert p.stage_clock == "stage_start" and p.involved("looked_after")[0].why == "Looked-after children: the IRO."
    assert p.stage("3").stand_in("designated_lead") == "head_of_service" and p.stage("3").board_referral
    assert p.stage("3").assumption is None and p.stage("3").assumption_line is None  # confirmed
    assert p.stage("4").assumption_line == PRESETS["essex"].stage("4").assumption_line


def test_confirming_the_immediate_risk_stage_drops_its_line_from_the_mails():
    assert PRESETS["wiltshire"].immediate_risk_assumption
    p = policy_from_config({"preset": "wiltshire", "immediate_risk_stage": "3"})
    assert p.immediate_risk_assumption is None and not any(a.startswith("immediate_risk_stage") for a in p.assumptions)
