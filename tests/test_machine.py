"""The stage machine as tables: every preset's every stage × every event, with the expected
outcome written out by hand from the seeds' stage tables (shared/DOMAIN.md)."""
from datetime import datetime, timedelta, timezone

import pytest

from tracker.policy.build import PRESETS
from tracker.policy.calendar import WorkingCalendar
from tracker.policy.directory import directory_from_config
from tracker.policy.machine import (CaseState, DeadlinePassed, MailRefused, Opening, Person, ReminderDue, Reply,
                                    Rules, advance, open_case)

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
    "west-sussex": [("1", "2", "escalate", False, True), ("2", "3", "escalate", False, False),
                    ("3", "4", "escalate", False, False), ("4", None, "final_route", False, False)],
}
ROWS = [(name, *row) for name, rows in STAGES.items() for row in rows]


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
    assert [e.kind for e in t.entries] == ["escalated"] and t.entries[0].stage == key
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
         [("conference_requested", (LEAD,))] if conference else [("refused", (RAISER,))]),
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
    assert (late.outcome, late.allowed, late.tell, late.entries, late.state.remind_at) == (
        "reminder_too_late", False, (), (), None)


@pytest.mark.parametrize("name,key,nxt,expiry,conference,other_acts", ROWS)
def test_a_refused_mail_is_recorded_and_business_support_told(name, key, nxt, expiry, conference, other_acts):
    t = advance(rules(name), at_stage(name, key), MailRefused("notice", OTHER), NOW)
    assert [e.kind for e in t.entries] == ["delivery_failed"] and OTHER in t.entries[0].summary
    assert kinds(t) == [("delivery_failed", (SUPPORT,))]
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
    assert t.state.stage == "4" and [e.kind for e in t.entries] == ["deadline_passed", "needs_routing"]
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
