"""The stage machine as tables: every preset's every stage × every event, with the expected
outcome written out by hand from the seeds' stage tables (shared/DOMAIN.md)."""
import dataclasses
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tracker.policy.build import PRESETS
from tracker.policy.calendar import WorkingCalendar
from tracker.policy.directory import directory_from_config
from tracker.stages.machine import (CaseState, Correct, DeadlinePassed, DuplicateIntake, MailRefused, Opening,
                                    Person, ReminderDue, Reply, Route, Rules, advance, open_case)
from tracker.stages.support import same_escalation

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)  # a Tuesday
RAISER = "alex.example@council.example.test"
OTHER = "sam.sample@health.example.test"
RAISER_MANAGER = "morgan.manager@council.example.test"
OTHER_MANAGER = "jo.manager@health.example.test"
STAGE_PERSON = "pat.stage@council.example.test"
LATER_STAGE_PERSON = "lee.later@health.example.test"
STRANGER = "someone@elsewhere.example.test"
SUPPORT = "business@partnership.example.test"
LEAD = "lead@partnership.example.test"

ROLES = ["line_manager", "safeguarding_lead", "senior_manager", "head_of_service", "designated_lead", "director",
         "board_representative", "iro", "cp_chair"]
BOARD = ["board_manager", "independent_chair", "qa_chair", "board_chair", "risk_management_panel"]
DIRECTORY = directory_from_config(
    [{"agency": "Council", "domains": ["council.example.test"], **{r: f"C {r} <c.{r}@council.example.test>" for r in ROLES}},
     {"agency": "Health", "domains": ["health.example.test"], **{r: f"H {r} <h.{r}@health.example.test>" for r in ROLES}}],
    {r: f"B {r} <b.{r}@partnership.example.test>" for r in BOARD})

# By hand, from each seed's table: (stage, next stage, what its expiry does, may request a
# conference, does the other practitioner act at it).
STAGES = {
    "wolverhampton": [("1", "2", "escalate", False, True), ("2", "3", "escalate", False, False),
                      ("3", "4", "escalate", True, False), ("4", "exceptional", "may_escalate", False, False),
                      ("exceptional", None, "final_route", False, False)],
    "wiltshire": [("pre-escalation", "1", "escalate", False, True), ("1", "2", "escalate", False, False),
                  ("2", "3", "escalate", False, False), ("3", None, "final_route", False, False)],
    "essex": [("1", "2", "escalate", False, True), ("2", "3", "escalate", False, False),
              ("3", "4", "escalate", False, False), ("4", "5", "escalate", False, False),
              ("5", "6", "escalate", False, False), ("6", None, "final_route", False, False)],
    # West Sussex: a conference matter may be raised at any level (it brings in the CP chairs)
    "west-sussex": [("1", "2", "escalate", True, True), ("2", "3", "escalate", True, False),
                    ("3", "4", "escalate", True, False), ("4", None, "final_route", True, False)],
}
ROWS = [(name, *row) for name, rows in STAGES.items() for row in rows]
# Who a conference request brings in, by policy (West Sussex: "utilise the Child Protection Chairs")
CP_CHAIRS = {"west-sussex": [("involved", ("c.cp_chair@council.example.test", "h.cp_chair@health.example.test"))]}


def rules(name: str, directory=DIRECTORY) -> Rules:
    return Rules(PRESETS[name], WorkingCalendar(), directory, (SUPPORT,), LEAD)


def at_stage(name: str, key: str, status: str = "open", acknowledged: bool = False) -> CaseState:
    policy = PRESETS[name]
    other = next((s.key for s in policy.stages if s.key != key), key)
    people = (Person("raiser", "raiser", RAISER), Person("raiser_manager", "raiser", RAISER_MANAGER),
              Person("other_party", "other", OTHER), Person("other_manager", "other", OTHER_MANAGER),
              Person(policy.stage(key).parties[0], "raiser", STAGE_PERSON, key),
              Person("director", "other", LATER_STAGE_PERSON, other))
    return CaseState(status, key, False, NOW - timedelta(days=1), NOW + timedelta(days=2),
                     remind_at=NOW + timedelta(days=1), acknowledged_at=NOW if acknowledged else None, people=people)


def kinds(t) -> list[tuple[str, tuple[str, ...]]]:
    return [(tell.kind, tell.to) for tell in t.tell]


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_escalate_from_the_stage_moves_on_or_is_refused_at_the_last(name, key, nxt, expiry, conference, other_acts):
    t = advance(rules(name), at_stage(name, key), Reply("escalate", STAGE_PERSON, "we cannot agree"), NOW)
    if nxt is None:
        assert (t.outcome, t.allowed, t.state.stage) == ("no_further_stage", False, key)
        assert kinds(t) == [("final_stage", (STAGE_PERSON,))]
        return
    assert (t.outcome, t.allowed, t.state.stage, t.state.stage_started_at) == ("escalated", True, nxt, NOW)
    assert [e.kind for e in t.entries] == ["escalated", "escalated_to"] and t.entries[0].stage == key
    assert t.entries[1].stage == nxt and t.calendar == "cancel"  # the old stage's calendar entries go
    assert t.state.stage_due_at > NOW and t.state.acknowledged_at is None and t.history
    told = dict(kinds(t))
    assert told["escalation_feedback"] == (RAISER,)
    assert told["escalated"] and all(p.stage == nxt for p in t.added)
    assert set(told["escalated"]) == {p.email for p in t.state.people if p.stage == nxt}


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_the_other_practitioner_acts_only_where_the_stage_has_practitioners(name, key, nxt, expiry, conference,
                                                                             other_acts):
    t = advance(rules(name), at_stage(name, key), Reply("resolved", OTHER, "agreed a plan"), NOW)
    if other_acts:
        assert (t.outcome, t.state.status, t.state.outcome, t.state.closed_at) == ("resolved", "resolved",
                                                                                   "agreed a plan", NOW)
        told = dict(kinds(t))
        assert told["resolution_record"] == (SUPPORT,)
        assert set(told["resolved"]) == {p.email for p in t.state.people}
    else:
        assert (t.outcome, t.allowed, t.state.status) == ("not_stage_party", False, "open")
        assert kinds(t) == [("refused", (OTHER,))] and t.entries[0].kind == "refused"


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_every_keyword_from_every_kind_of_sender(name, key, nxt, expiry, conference, other_acts):
    r, state = rules(name), at_stage(name, key)
    expected = [
        (RAISER, "acknowledged", "acknowledged", [("acknowledged", (RAISER,))]),
        (STAGE_PERSON, "update", "update", None),
        (LATER_STAGE_PERSON, "update", "update", None),
        (LATER_STAGE_PERSON, "resolved", "not_stage_party", [("refused", (LATER_STAGE_PERSON,))]),
        (RAISER, "withdraw", "withdrawn", None),
        (OTHER, "withdraw", "not_raiser", [("refused", (OTHER,))]),
        (STAGE_PERSON, None, "no_keyword", [("no_keyword", (STAGE_PERSON,))]),
        (STRANGER, "resolved", "not_party", [("not_a_party", (STRANGER,))]),
        (RAISER, "conference_requested", "conference_requested" if conference else "conference_not_at_stage",
         ([("conference_requested", (LEAD,))] + CP_CHAIRS.get(name, [])) if conference else [("refused", (RAISER,))]),
    ]
    for sender, command, outcome, told in expected:
        t = advance(r, state, Reply(command, sender, "words"), NOW)
        assert t.outcome == outcome, (sender, command)
        if told is not None:
            assert kinds(t) == told, (sender, command)
    update = advance(r, state, Reply("update", STAGE_PERSON, "a note"), NOW)
    assert STAGE_PERSON not in dict(kinds(update))["update"] and RAISER in dict(kinds(update))["update"]
    withdrawn = advance(r, state, Reply("withdraw", RAISER, None), NOW)
    assert (withdrawn.state.status, withdrawn.state.closed_at) == ("withdrawn", NOW)
    assert advance(r, state, Reply("resolved", STRANGER, None), NOW).entries == ()  # the record is not touched


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_the_deadline_passing_runs_the_stages_rule_once(name, key, nxt, expiry, conference, other_acts):
    t = advance(rules(name), at_stage(name, key), DeadlinePassed(), NOW)
    assert t.entries[0].kind == "deadline_passed" and t.entries[0].stage == key
    assert t.state.expiry_handled_at == NOW or t.state.stage == nxt
    told = dict(kinds(t))
    if expiry == "escalate":
        assert t.state.stage == nxt and t.words.reason == "deadline" and "escalated" in told
        assert told["escalation_feedback"] == (RAISER,)
    elif expiry == "may_escalate":
        assert (t.state.stage, told) == (key, {"may_escalate": (RAISER,)})
        assert t.words.next_stage_name == PRESETS[name].stage(nxt).name
    else:
        assert t.state.stage == key and set(told) == {"final_route", "final_route_feedback"}
        assert told["final_route_feedback"] == (RAISER,)
        assert told["final_route"] == tuple(p.email for p in t.state.people if p.side == "board") or (SUPPORT,)


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_a_reminder_goes_to_the_stage_before_its_time_and_not_after(name, key, nxt, expiry, conference, other_acts):
    state = at_stage(name, key)
    t = advance(rules(name), state, ReminderDue(state.remind_at), NOW)
    assert (t.outcome, t.state.remind_at, kinds(t)) == ("reminder", None, [("reminder", (STAGE_PERSON,))])
    late = advance(rules(name), state, ReminderDue(state.remind_at), state.stage_due_at)
    assert (late.outcome, late.allowed, late.tell, late.state.remind_at) == ("reminder_too_late", False, (), None)
    assert [e.kind for e in late.entries] == ["reminder_not_sent"]  # not silently: the record says why


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_a_refused_mail_is_recorded_and_business_support_told(name, key, nxt, expiry, conference, other_acts):
    t = advance(rules(name), at_stage(name, key), MailRefused("notice", OTHER), NOW)
    assert t.entries[0].kind == "delivery_failed" and OTHER in t.entries[0].summary
    assert kinds(t) == [("delivery_failed", (SUPPORT,)), ("delivery_failed_feedback", (RAISER,))]
    again = advance(rules(name), at_stage(name, key), MailRefused("delivery_failed", SUPPORT), NOW)
    assert (again.entries, again.tell) == ((), ())  # never a failure notice about a failure notice


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_a_closed_case_answers_every_keyword_and_changes_nothing(name, key, nxt, expiry, conference, other_acts):
    for status in ("resolved", "withdrawn"):
        state = at_stage(name, key, status=status)
        for command in ("acknowledged", "resolved", "escalate", "update", "withdraw"):
            t = advance(rules(name), state, Reply(command, RAISER, None), NOW)
            assert (t.outcome, t.state, kinds(t)) == ("closed_case_reply", state, [("closed_case", (RAISER,))])


def test_acknowledged_twice_is_recorded_but_tells_nobody_again():
    t = advance(rules("wolverhampton"), at_stage("wolverhampton", "1", acknowledged=True),
                Reply("acknowledged", OTHER, None), NOW)
    assert (t.outcome, t.allowed, t.tell, t.state.acknowledged_at) == ("acknowledged_again", True, (), NOW)


def test_a_stage_nobody_is_known_for_asks_business_support_to_route_it():
    t = advance(rules("wolverhampton", directory=None), at_stage("wolverhampton", "3"), DeadlinePassed(), NOW)
    assert t.state.stage == "4" and [e.kind for e in t.entries] == ["deadline_passed", "escalated_to", "needs_routing"]
    assert dict(kinds(t)) == {"escalation_feedback": (RAISER,), "route_request": (SUPPORT,)}


def test_policy_gaps_and_debriefs_are_flagged_for_the_board():
    t = advance(rules("essex"), at_stage("essex", "1"), Reply("update", OTHER, "A Policy gap; we'd like a debrief"),
                NOW)
    assert t.state.policy_gap_flagged and t.state.debrief_requested


@pytest.mark.parametrize("name", list(STAGES))
def test_opening_starts_at_the_first_stage_or_the_immediate_risk_stage(name):
    people = (Person("raiser", "raiser", RAISER), Person("other_party", "other", OTHER))
    t = open_case(rules(name), Opening(people, immediate_risk=False, actor=RAISER), NOW)
    assert t.state.stage == STAGES[name][0][0] and t.state.stage_started_at == NOW
    assert kinds(t) == [("confirmation", (RAISER,)), ("notice", (OTHER,))]
    risky = open_case(rules(name), Opening(people, immediate_risk=True, actor=RAISER), NOW)
    start = {"wiltshire": "3"}.get(name, STAGES[name][0][0])  # Wiltshire: straight to the Board's referral
    assert risky.state.stage == start and dict(kinds(risky))["immediate_risk_alert"] == (LEAD,)
    local_due = WorkingCalendar().local(risky.state.stage_due_at)
    assert (local_due.date(), local_due.hour) == (WorkingCalendar().local(NOW).date(), 17)  # the same working day


def test_no_letter_goes_to_an_address_outside_the_partner_domains_unless_config_names_it():
    fenced = Rules(PRESETS["essex"], WorkingCalendar(), DIRECTORY, (SUPPORT,), LEAD,
                   partner_domains=("council.example.test", "health.example.test"),
                   configured=frozenset({SUPPORT, LEAD}))
    state = at_stage("essex", "1")
    state = CaseState(**{**state.__dict__, "people": state.people + (Person("other_manager", "other", STRANGER),)})
    t = advance(fenced, state, Reply("resolved", OTHER, "agreed"), NOW)
    told = dict(kinds(t))
    assert STRANGER not in told["resolved"] and OTHER in told["resolved"]
    assert told["resolution_record"] == (SUPPORT,)  # named by config, outside the agencies' domains


# --- business support: ROUTE, CORRECT, UPDATE (CONTRACT.md §2) ------------------------------------
ONLY_COUNCIL = directory_from_config(
    [{"agency": "Council", "domains": ["council.example.test"], "senior_manager": "C s <c.senior@council.example.test>",
      "director": "C d <c.director@council.example.test>"}], {})
ROUTED = Person("routed", "", "rio.routed@health.example.test", None, "Rio Routed", "Head of Service", "Health")


def wolverhampton_at_3_with_health_missing():
    t = advance(rules("wolverhampton", ONLY_COUNCIL), at_stage("wolverhampton", "2"), DeadlinePassed(), NOW)
    assert t.state.stage == "3" and t.words.missing == ("other",)
    return t


def test_a_stage_with_one_side_missing_asks_business_support_naming_that_side():
    t = wolverhampton_at_3_with_health_missing()
    told = dict(kinds(t))
    assert told["route_request"] == (SUPPORT,) and told["escalated"] == ("c.senior@council.example.test",)
    assert "other" in t.entries[-1].summary and t.entries[-1].kind == "needs_routing"


@pytest.mark.parametrize("sender,outcome,told", [
    (SUPPORT, "routed", {"routed": ("rio.routed@health.example.test",), "routed_feedback": (RAISER,),
                         "support_done": (SUPPORT,)}),
    (OTHER, "no_keyword", {"no_keyword": (OTHER,)}),  # a party's "Route ..." is no keyword of theirs
    (STRANGER, "not_party", {"not_a_party": (STRANGER,)}),
])
def test_route_from_business_support_makes_parties_of_the_stage(sender, outcome, told):
    state = wolverhampton_at_3_with_health_missing().state
    t = advance(rules("wolverhampton", ONLY_COUNCIL), state, Route(sender, (ROUTED,)), NOW)
    assert (t.outcome, dict(kinds(t))) == (outcome, told)
    if outcome != "routed":
        assert t.state == state
        return
    [added] = t.added
    assert (added.role, added.side, added.stage, added.title) == ("senior_manager", "other", "3", "Head of Service")
    assert t.words.missing == () and t.history and t.entries[0].actor == SUPPORT
    resolved = advance(rules("wolverhampton", ONLY_COUNCIL), t.state, Reply("resolved", added.email, "agreed"), NOW)
    assert resolved.outcome == "resolved"  # and may act like any party of the stage


def test_route_naming_nobody_or_only_people_already_there_is_refused_with_why():
    state = wolverhampton_at_3_with_health_missing().state
    r = rules("wolverhampton", ONLY_COUNCIL)
    nobody = advance(r, state, Route(SUPPORT, (), ("Rio, Head of Service",)), NOW)
    assert (nobody.outcome, kinds(nobody), nobody.words.detail) == (
        "route_unreadable", [("support_refused", (SUPPORT,))], "Rio, Head of Service")
    again = advance(r, state, Route(SUPPORT, (Person("routed", "", "c.senior@council.example.test"),)), NOW)
    assert again.outcome == "route_known" and again.state == state


def test_correct_replaces_the_address_everywhere_and_sends_the_latest_notice_again():
    state = at_stage("wolverhampton", "1")
    t = advance(rules("wolverhampton"), state, Correct(SUPPORT, OTHER, "sam.right@health.example.test", "notice"), NOW)
    assert t.outcome == "corrected" and t.replaced == ((OTHER, "sam.right@health.example.test"),)
    assert OTHER not in {p.email for p in t.state.people}
    assert kinds(t) == [("notice", ("sam.right@health.example.test",)), ("support_done", (SUPPORT,))]
    unknown = advance(rules("wolverhampton"), state, Correct(SUPPORT, "nobody@x.example.test", "a@b.example.test"), NOW)
    unreadable = advance(rules("wolverhampton"), state, Correct(SUPPORT, None, None), NOW)
    assert (unknown.outcome, unreadable.outcome) == ("correct_unknown", "correct_unreadable")
    assert unknown.state == state and kinds(unknown) == [("support_refused", (SUPPORT,))]


def test_business_support_cannot_route_or_correct_to_an_address_outside_the_partner_agencies():
    fenced = dataclasses.replace(rules("wolverhampton", ONLY_COUNCIL),
                                 partner_domains=("council.example.test", "health.example.test"))
    state = wolverhampton_at_3_with_health_missing().state
    outsider = Person("routed", "", "eve@evil.example", None, "Eve", "Head of Service", "Health")
    routed = advance(fenced, state, Route(SUPPORT, (ROUTED, outsider)), NOW)
    assert (routed.outcome, routed.state, kinds(routed)) == ("route_outside", state, [("support_refused", (SUPPORT,))])
    assert routed.words.detail == "eve@evil.example" and not routed.entries[0].kind == "routed"
    corrected = advance(fenced, state, Correct(SUPPORT, OTHER, "sam.sample@evil.example", "notice"), NOW)
    assert (corrected.outcome, corrected.state) == ("correct_outside", state)
    assert kinds(corrected) == [("support_refused", (SUPPORT,))] and corrected.words.detail == "sam.sample@evil.example"
    inside = advance(fenced, state, Correct(SUPPORT, OTHER, "sam.right@health.example.test", "notice"), NOW)
    assert inside.outcome == "corrected"  # the fence, not CORRECT, refused the others


@pytest.mark.parametrize("status", ["open", "resolved"])
def test_business_support_updates_any_case_and_nothing_else(status):
    state = at_stage("essex", "2", status=status)
    t = advance(rules("essex"), state, Reply("update", SUPPORT, "spoke to both managers"), NOW)
    assert (t.outcome, t.entries[0].actor, t.entries[0].statement) == ("update", SUPPORT, "spoke to both managers")
    assert set(dict(kinds(t))["update"]) == {p.email for p in state.people}
    for command in ("resolved", "escalate", "acknowledged", None):
        refused = advance(rules("essex"), state, Reply(command, SUPPORT, None), NOW)
        assert (refused.outcome, kinds(refused)) == ("support_keyword", [("support_refused", (SUPPORT,))])


# --- West Sussex: the IRO and the CP chairs; Wiltshire: straight to the Board's person -------------
WSX = directory_from_config(
    [{"agency": "West Sussex County Council", "domains": ["council.example.test"],
      "iro": "Ira Reviewing, IRO <ira.iro@council.example.test>", "cp_chair": "Cy Chair <cy.chair@council.example.test>",
      "line_manager": "Lin Manager <lin@council.example.test>"},
     {"agency": "Health", "domains": ["health.example.test"], "line_manager": "Hal <hal@health.example.test>"}], {})
INTAKE = (Person("raiser", "raiser", RAISER), Person("other_party", "other", OTHER))


@pytest.mark.parametrize("looked_after,conference,brought", [
    (True, False, {"ira.iro@council.example.test"}), (False, True, {"cy.chair@council.example.test"}),
    (True, True, {"ira.iro@council.example.test", "cy.chair@council.example.test"}), (False, False, set())])
def test_west_sussex_brings_the_iro_and_cp_chairs_onto_the_case_from_the_start(looked_after, conference, brought):
    r = rules("west-sussex", WSX)
    t = open_case(r, Opening(INTAKE, False, RAISER, looked_after=looked_after, conference=conference), NOW)
    oversight = {p.email for p in t.state.people if p.side == "oversight"}
    assert oversight == brought and all(p.stage is None for p in t.state.people if p.side == "oversight")
    assert set(dict(kinds(t)).get("involved", ())) == brought and "route_request" not in dict(kinds(t))
    if not brought:
        return
    moved = advance(r, t.state, DeadlinePassed(), NOW + timedelta(days=5))
    assert brought <= set(dict(kinds(moved))["escalated"])  # a party of every stage: told as it moves
    acts = advance(r, moved.state, Reply("resolved", sorted(brought)[0], "plan agreed"), NOW + timedelta(days=5))
    assert acts.outcome == "resolved"


def test_a_looked_after_child_with_no_iro_known_asks_business_support_for_one():
    t = open_case(rules("west-sussex", DIRECTORY.__class__()), Opening(INTAKE, False, RAISER, looked_after=True), NOW)
    assert t.words.missing == ("iro",) and dict(kinds(t))["route_request"] == (SUPPORT,)


def test_a_conference_requested_brings_in_the_cp_chairs_once():
    r = rules("west-sussex", WSX)
    state = open_case(r, Opening(INTAKE, False, RAISER), NOW).state
    t = advance(r, state, Reply("conference_requested", OTHER, "a conference is needed"), NOW)
    assert dict(kinds(t))["involved"] == ("cy.chair@council.example.test",)
    again = advance(r, t.state, Reply("conference_requested", RAISER, None), NOW)
    assert "involved" not in dict(kinds(again))


WILTS = directory_from_config(
    [{"agency": "Council", "domains": ["council.example.test"], "board_representative": "Rep <rep@council.example.test>"},
     {"agency": "Health", "domains": ["health.example.test"]}],
    {"board_manager": "Bo <bo.manager@partnership.example.test>",
     "independent_chair": "Ivy <ivy.chair@partnership.example.test>"})


@pytest.mark.parametrize("raiser,nominated", [
    (RAISER, "rep@council.example.test"),  # the raiser's agency's nominated representative
    ("pat@health.example.test", "bo.manager@partnership.example.test")])  # no representative: the Board manager
def test_wiltshire_imminent_risk_goes_straight_to_the_nominated_person(raiser, nominated):
    other = OTHER if raiser == RAISER else "kim@council.example.test"
    people = (Person("raiser", "raiser", raiser), Person("other_party", "other", other))
    t = open_case(rules("wiltshire", WILTS), Opening(people, True, raiser), NOW)
    told = dict(kinds(t))
    assert t.state.stage == "3" and nominated in told["escalated"] and "ivy.chair@partnership.example.test" in told["escalated"]
    assert told["immediate_risk_alert"] == (LEAD,) and told["notice"] == (other,)
    assert t.state.referred_to_board_at == NOW and t.words.reason == "immediate_risk" and t.history


# --- the Board's records: referral dates --------------------------------------------------------------
@pytest.mark.parametrize("name,into,referred", [
    ("wolverhampton", "4", False), ("wolverhampton", "exceptional", True), ("wiltshire", "3", True),
    ("essex", "3", False), ("essex", "4", True), ("west-sussex", "4", True)])
def test_reaching_the_boards_stage_is_a_referral_dated_when_it_happened(name, into, referred):
    before = next(s.key for s, n in zip(PRESETS[name].stages, PRESETS[name].stages[1:]) if n.key == into)
    t = advance(rules(name), at_stage(name, before), Reply("escalate", RAISER, None), NOW)
    assert t.state.stage == into and t.state.referred_to_board_at == (NOW if referred else None)


# --- time: the policy's timetable holds whenever the service noticed -----------------------------------
CAL = WorkingCalendar()


@pytest.mark.parametrize("clock", ["previous_deadline", "stage_start"])
def test_after_an_outage_the_next_stage_keeps_the_time_the_policy_gave_it(clock):
    policy = dataclasses.replace(PRESETS["wolverhampton"], stage_clock=clock)
    r = Rules(policy, CAL, DIRECTORY, (SUPPORT,), LEAD)
    due = CAL.due(NOW, 5)  # stage 1's end, Tuesday 1 December
    state = dataclasses.replace(at_stage("wolverhampton", "1"), stage_started_at=NOW, stage_due_at=due)
    late = due + timedelta(days=6)  # the service was down for nearly a week
    t = advance(r, state, DeadlinePassed(), late)
    if clock == "previous_deadline":
        assert (t.state.stage_started_at, t.state.stage_due_at) == (due, CAL.after(due, 2))
        assert t.state.stage_due_at == CAL.due(NOW, 7)  # the cumulative table: 7 working days
    else:
        assert (t.state.stage_started_at, t.state.stage_due_at) == (late, CAL.due(late, 2))
    assert t.words.late_since == due and (t.state.remind_at is None or t.state.remind_at > late)  # never one due already


def test_an_immediate_risk_stage_after_a_deadline_is_due_the_next_working_day():
    state = dataclasses.replace(at_stage("essex", "1"), immediate_risk=True, stage_due_at=CAL.due(NOW, 0))
    t = advance(rules("essex"), state, DeadlinePassed(), NOW + timedelta(days=1))
    assert t.state.stage_due_at == CAL.after(CAL.due(NOW, 0), 1)


def test_a_reminder_missed_in_an_outage_goes_once_saying_it_is_late():
    state = at_stage("wolverhampton", "2")
    t = advance(rules("wolverhampton"), state, ReminderDue(state.remind_at), state.remind_at + timedelta(hours=14))
    assert (t.outcome, t.words.late_since, t.words.late_what) == ("reminder", state.remind_at, "reminder")


# --- mail that did not arrive --------------------------------------------------------------------------
@pytest.mark.parametrize("severity,stopped,bounced", [("hard", True, True), ("soft", False, False),
                                                      ("unknown", False, False)])
def test_a_failed_notice_is_recorded_and_a_hard_one_stops_that_sides_clock(severity, stopped, bounced):
    state = at_stage("wolverhampton", "1")
    t = advance(rules("wolverhampton"), state, MailRefused("notice", OTHER, severity, "550 5.1.1 no such user",
                                                           reported=True), NOW)
    assert kinds(t) == [("delivery_failed", (SUPPORT,)), ("delivery_failed_feedback", (RAISER,))]
    assert (t.state.clock_stopped_at == NOW, t.state.clock_stopped_for == "other") == (stopped, stopped)
    assert any(p.bounced for p in t.state.people if p.email == OTHER) == bounced
    assert ("clock_stopped" in [e.kind for e in t.entries]) == stopped
    if stopped:
        assert advance(rules("wolverhampton"), t.state, DeadlinePassed(), NOW).outcome == "clock_stopped"
        assert t.state.remind_at is None and t.words.reason == "clock_stopped"


def test_a_delay_report_is_recorded_and_changes_nothing():
    state = at_stage("wolverhampton", "1")
    t = advance(rules("wolverhampton"), state, MailRefused("notice", OTHER, "delay", reported=True), NOW)
    assert (t.outcome, t.state, t.tell, [e.kind for e in t.entries]) == ("delivery_delayed", state, (),
                                                                         ["delivery_delayed"])


def test_a_bounce_of_one_of_two_on_a_side_or_of_an_old_stage_stops_no_clock():
    state = at_stage("wolverhampton", "2")  # the raiser's side has its manager and a stage person
    t = advance(rules("wolverhampton"), state, MailRefused("escalated", STAGE_PERSON, "hard"), NOW)
    assert t.state.clock_stopped_at is None
    old = advance(rules("wolverhampton"), state, MailRefused("confirmation", RAISER, "hard"), NOW)
    assert old.state.clock_stopped_at is None and "delivery_failed_feedback" not in dict(kinds(old))


@pytest.mark.parametrize("fix", ["correct", "route"])
def test_correcting_or_routing_the_stopped_side_runs_the_clock_again_with_the_time_it_lost(fix):
    r = rules("wolverhampton")
    state = at_stage("wolverhampton", "1")
    stopped = advance(r, state, MailRefused("notice", OTHER, "hard"), NOW).state
    later = NOW + timedelta(days=7)  # a week (five working days) on
    event = Correct(SUPPORT, OTHER, "sam.right@health.example.test", "notice") if fix == "correct" else \
        Route(SUPPORT, (Person("routed", "", "kit@health.example.test", None, "Kit", None, "Health"),))
    t = advance(r, stopped, event, later)
    lost = CAL.working_days_between(NOW, later)
    assert (t.state.clock_stopped_at, t.state.clock_stopped_for) == (None, None) and lost == 5
    assert t.state.stage_due_at == CAL.after(state.stage_due_at, lost) and t.calendar == "update"
    assert "clock_restarted" in [e.kind for e in t.entries]


# --- one escalation, one case; calendars follow the case ------------------------------------------------
@pytest.mark.parametrize("a,b,same", [
    (("CH-1", RAISER, OTHER), ("ch-1 ", "x@council.example.test", "y@health.example.test"), True),
    (("CH-1", RAISER, OTHER), ("CH-1", OTHER, RAISER), True),  # the other side raising it back
    (("CH-1", RAISER, OTHER), ("CH-2", RAISER, OTHER), False),
    (("CH-1", RAISER, OTHER), ("CH-1", RAISER, "z@police.example.test"), False)])
def test_the_same_client_and_the_same_two_agencies_are_one_escalation(a, b, same):
    assert (same_escalation(rules("essex"), *a) == same_escalation(rules("essex"), *b)) == same


@pytest.mark.parametrize("sender,reason", [(RAISER, "party"), ("new.worker@council.example.test", "not_party")])
def test_a_repeated_intake_is_recorded_on_its_case_and_the_sender_told_how_to_add_to_it(sender, reason):
    state = at_stage("essex", "1")
    t = advance(rules("essex"), state, DuplicateIntake(sender), NOW)
    assert (t.state, kinds(t), t.words.reason) == (state, [("duplicate_intake", (sender,))], reason)
    assert t.entries[0].kind == "duplicate_intake"


@pytest.mark.parametrize("event,calendar", [
    (Reply("resolved", OTHER, "agreed"), "cancel"), (Reply("withdraw", RAISER, None), "cancel"),
    (Reply("escalate", OTHER, None), "cancel"), (DeadlinePassed(), "cancel"),
    (Reply("acknowledged", OTHER, None), None), (Reply("update", OTHER, "a note"), None)])
def test_calendar_entries_are_cancelled_when_the_stage_is_done_with(event, calendar):
    assert advance(rules("wolverhampton"), at_stage("wolverhampton", "1"), event, NOW).calendar == calendar


def test_people_the_machine_names_itself_are_told_only_inside_the_partnership():
    fenced = Rules(PRESETS["west-sussex"], WorkingCalendar(), WSX, (SUPPORT,), LEAD,
                   partner_domains=("health.example.test",), configured=frozenset({SUPPORT, LEAD}))
    opened = open_case(fenced, Opening(INTAKE, False, RAISER, looked_after=True), NOW)
    assert "involved" not in dict(kinds(opened))  # the IRO's council is outside these partner domains
    outside = Person("routed", "", "someone@elsewhere.example.test")
    routed = advance(fenced, wolverhampton_at_3_with_health_missing().state, Route(SUPPORT, (outside,)), NOW)
    assert routed.outcome == "route_outside" and kinds(routed) == [("support_refused", (SUPPORT,))]


def test_an_iro_business_support_routes_is_on_the_case_for_all_of_it():
    r = rules("west-sussex", DIRECTORY.__class__())
    opened = open_case(r, Opening(INTAKE, False, RAISER, looked_after=True), NOW)
    assert opened.state.looked_after and opened.words.missing == ("iro",)
    iro = Person("routed", "", "ira@council.example.test", None, "Ira", "Independent Reviewing Officer", "Council")
    t = advance(r, opened.state, Route(SUPPORT, (iro,)), NOW)
    [added] = t.added
    assert (added.role, added.side, added.stage) == ("iro", "oversight", None)
    assert dict(kinds(t))["involved"] == ("ira@council.example.test",) and "routed" not in dict(kinds(t))
    assert t.words.missing == () and t.words.involved == ("iro",)
    moved = advance(r, t.state, DeadlinePassed(), NOW)
    assert "ira@council.example.test" in dict(kinds(moved))["escalated"]


def test_a_role_still_wanted_is_asked_for_again_at_the_next_stage():
    r = rules("west-sussex", DIRECTORY.__class__())
    opened = open_case(r, Opening(INTAKE, False, RAISER, looked_after=True), NOW)
    moved = advance(r, opened.state, DeadlinePassed(), NOW)
    assert "iro" in moved.words.missing and dict(kinds(moved))["route_request"] == (SUPPORT,)


# -- personal data held back, and records that do not verify ---------------------------------
PASSAGE = SimpleNamespace(field="reasons", kind="dob", words="03/04/2019", what="a date of birth", how="give the age")


@pytest.mark.parametrize("name", list(STAGES))
def test_an_opening_with_personal_data_is_held_and_only_its_sender_is_told(name):
    people = (Person("raiser", "raiser", RAISER), Person("other_party", "other", OTHER))
    for risk in (False, True):
        t = open_case(rules(name), Opening(people, risk, RAISER, passages=(PASSAGE,)), NOW)
        assert (t.outcome, t.allowed, t.state, t.entries) == ("held", False, None, ())
        assert kinds(t) == [("personal_data", (RAISER,))] and t.words.passages == (PASSAGE,)
    answered = open_case(rules(name), Opening(people, False, RAISER, passages=(PASSAGE,), answer="invented"), NOW)
    assert answered.outcome == "opened" and [e.kind for e in answered.entries] == ["opened", "not_identifying"]
    assert "invented" in answered.entries[1].statement and "03/04/2019" in answered.entries[1].statement


def test_an_opening_sent_for_the_raiser_tells_both_and_says_who_sent_it():
    people = (Person("raiser", "raiser", RAISER), Person("other_party", "other", OTHER),
              Person("submitter", "raiser", RAISER_MANAGER))
    t = open_case(rules("wolverhampton"), Opening(people, False, RAISER_MANAGER), NOW)
    assert dict(kinds(t))["confirmation"] == (RAISER, RAISER_MANAGER)
    assert t.entries[0].actor == RAISER_MANAGER and f"sent by {RAISER_MANAGER} for {RAISER}" in t.entries[0].summary
    withdraw = advance(rules("wolverhampton"), t.state, Reply("withdraw", RAISER_MANAGER, None), NOW)
    assert withdraw.outcome == "not_raiser"


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_a_reply_whose_words_identify_someone_is_held_until_its_sender_answers(name, key, nxt, expiry, conference,
                                                                               other_acts):
    r, state = rules(name), at_stage(name, key)
    for command in ("acknowledged", "resolved", "escalate", "update", "withdraw", "conference_requested"):
        sender = RAISER
        plain = advance(r, state, Reply(command, sender, "DOB 03/04/2019"), NOW)
        if not plain.allowed:
            continue  # refused anyway: the refusal says nothing of the words
        held = advance(r, state, Reply(command, sender, "DOB 03/04/2019", passages=(PASSAGE,)), NOW)
        assert (held.outcome, held.allowed, held.state) == ("held", False, state), command
        assert kinds(held) == [("personal_data", (sender,))] and [e.kind for e in held.entries] == ["held"]
        assert held.entries[0].statement is None and "03/04/2019" not in held.entries[0].summary
        answered = advance(r, state, Reply(command, sender, "DOB 03/04/2019", passages=(PASSAGE,),
                                           answer="it is mine"), NOW)
        assert answered.outcome == plain.outcome and answered.entries[0].kind == "not_identifying", command
        assert answered.entries[1:] == plain.entries and kinds(answered) == kinds(plain)
    nothing = advance(r, state, Reply("not_identifying", RAISER, None), NOW)
    assert (nothing.outcome, kinds(nothing)) == ("nothing_held", [("nothing_held", (RAISER,))])


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_a_case_whose_record_does_not_verify_changes_nothing_and_business_support_is_told(
        name, key, nxt, expiry, conference, other_acts):
    state = replace(at_stage(name, key), record_problem="stage (the record says '1', the case has '3')")
    for event in (Reply("resolved", RAISER, "done"), Reply("update", STRANGER, "x"), DeadlinePassed(),
                  ReminderDue(state.remind_at), MailRefused("notice", OTHER)):
        t = advance(rules(name), state, event, NOW)
        assert (t.outcome, t.allowed, t.state, t.entries) == ("record_altered", False, state, ())
        assert [(x.kind, x.to, x.about_case) for x in t.tell] == [("record_altered", (SUPPORT,), False)]
        assert t.words.refusal == state.record_problem


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_every_change_to_a_case_comes_with_an_entry_of_its_record(name, key, nxt, expiry, conference, other_acts):
    """What the record does not account for, verify reports as altered: the machine must
    never change a case without saying so in an entry."""
    state = at_stage(name, key)
    events = [Reply(c, s, "words") for c in ("acknowledged", "resolved", "escalate", "update", "withdraw",
                                              "conference_requested", None) for s in (RAISER, OTHER, STAGE_PERSON)]
    events += [DeadlinePassed(), ReminderDue(state.remind_at), MailRefused("notice", OTHER)]
    for at in (NOW, state.stage_due_at):
        for event in events:
            t = advance(rules(name), state, event, at)
            if t.state != state or t.added:
                assert t.entries, (event, at)
