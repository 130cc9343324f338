"""Issue 18, points 7, 8, 10 and 11, through the Maildir inbox: the Board's records, deadlines
that never contradict each other, assumed numbers said out loud, calendar entries that
follow the case."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import icalendar
import pytest

from tests.helpers.harness import LONDON
from tests.helpers.scenarios import SUPPORT, Scenario, text_of
from tracker.cases.events import Failure, on_bounce
from tracker.digest.records import export_rows, resolution_csv
from tracker.storage.db import transaction

RAISER = "casey.tester@council.example.test"
MANAGER = "morgan.tester@council.example.test"
OTHER = "drew.sample@health.example.test"
OTHER_MANAGER = "riley.sample@health.example.test"
START = datetime(2026, 11, 23, 10, tzinfo=LONDON)  # a Monday


def scenario(tmp_path, policy: str, extra: dict | None = None) -> Scenario:
    return Scenario(tmp_path, policy, START, extra)


def past_due(s: Scenario) -> None:
    s.clock.now = s.case().stage_due_at + timedelta(minutes=1)
    s.h.run()


def no_commands(s: Scenario) -> None:
    """No mail asks anyone to run a shell command."""
    for m in s.mails():
        assert not re.search(r"\bescalations (case|cases|digest|run)\b", text_of(m)), m["Subject"]


# --- the Board's records -------------------------------------------------------------------------
WILTS = {"directory": [
    {"agency": "Example Council", "domains": ["council.example.test"], "senior_manager": "Sol Senior <sol@council.example.test>"},
    {"agency": "Example Health", "domains": ["health.example.test"], "senior_manager": "Hana Senior <hana@health.example.test>",
     "board_representative": "Hedy Rep, WSCB representative <hedy.rep@health.example.test>"}],
    "board": {"board_manager": "Bo Manager <bo.manager@partnership.example.test>",
              "independent_chair": "Ivy Chair <ivy.chair@partnership.example.test>"}}


def test_a_wiltshire_referral_to_the_board_is_dated_and_the_notification_carries_its_fields(tmp_path):
    s = scenario(tmp_path, "wiltshire", WILTS)
    s.raise_case(Discussions_so_far="Phoned the health visitor on 20 November.")
    s.reply(s.mail("notice", OTHER), OTHER, "UPDATE: we reviewed the file with the team")
    for _ in range(3):
        past_due(s)  # pre-escalation, 1 and 2 run out: stage 3, the referral via the WSCB
    case = s.case()
    assert case.stage == "3" and case.referred_to_board_at is not None
    referral = s.mail("escalated", "hedy.rep@health.example.test")  # the other agency's representative
    assert s.mails("escalated", "bo.manager@partnership.example.test")  # the council has none: the Board manager
    s.reply(referral, "bo.manager@partnership.example.test", "UPDATE: spoke to both representatives")
    s.reply(referral, "hedy.rep@health.example.test", "RESOLVED: early help assessment to start; reviewed in 4 weeks")
    note = s.mail("resolution_record", SUPPORT)
    words = text_of(note)
    referred = s.h.app.partnership.calendar.local(case.referred_to_board_at)
    assert f"Date referred to the Board: {referred:%A} {referred.day} {referred:%B %Y, %H:%M}" in words
    assert "Issue/concern: Referral for an early help assessment declined." in words
    for said in ("Phoned the health visitor on 20 November.", "we reviewed the file with the team",
                 "spoke to both representatives"):
        assert said in words, said
    named = words.split("Name and agency of professionals involved:")[1].split("Issue/concern")[0]
    assert named.count(MANAGER) == 1 and named.count(OTHER_MANAGER) == 1  # once, though at several stages
    assert [a.get_filename() for a in note.iter_attachments()] == ["ESC-2026-0001-record.html"]
    with transaction(s.h.app.engine) as session:
        [row] = export_rows(session, s.h.app.partnership, None, None)
    csv = resolution_csv([row]).decode("utf-8-sig")
    assert referred.date().isoformat() in csv and "we reviewed the file with the team" in csv
    no_commands(s)
    s.close()


def test_a_wolverhampton_exceptional_referral_is_dated_and_the_final_route_carries_the_record(tmp_path):
    s = scenario(tmp_path, "wolverhampton", {"board": {
        "board_manager": "Bea Business <board.manager@partnership.example.test>",
        "independent_chair": "Ian Chair <independent.chair@partnership.example.test>"}})
    s.raise_case()
    for _ in range(4):
        past_due(s)
    assert s.case().stage == "4" and s.case().referred_to_board_at is None  # stage 4 is not the Board
    s.reply(s.mail("may_escalate", RAISER), RAISER, "ESCALATE: no agreement at director level")
    assert s.case().stage == "exceptional" and s.case().referred_to_board_at == s.clock.now
    past_due(s)
    final = s.mail("final_route", "independent.chair@partnership.example.test")
    assert "Referred to the Board:" in text_of(final)
    assert [a.get_filename() for a in final.iter_attachments()] == ["ESC-2026-0001-record.html"]
    no_commands(s)
    s.close()


# --- deadlines that never contradict each other ------------------------------------------------------
def test_a_24_hour_step_that_ends_on_a_weekend_moves_to_the_next_working_days_close(tmp_path):
    s = scenario(tmp_path, "wolverhampton", {"directory": [
        {"agency": "Example Council", "domains": ["council.example.test"], "senior_manager": "Sol <sol@council.example.test>"}]})
    s.raise_case()
    s.reply(s.mail("notice", OTHER), OTHER, "ESCALATE: we cannot agree")
    s.at(2026, 11, 27, 18, 0)  # Friday evening
    s.reply(s.mail("escalated", OTHER_MANAGER), OTHER_MANAGER, "ESCALATE: still no agreement")
    words = text_of(s.mail("escalated", "sol@council.example.test"))
    assert "Referred in writing (by Monday 30 November 2026, 17:00)" in words  # not Saturday 18:00
    assert "Please respond by Thursday 3 December 2026, 17:00" in words
    s.close()


def test_under_immediate_risk_no_step_is_due_after_its_stage(tmp_path):
    s = scenario(tmp_path, "wolverhampton")
    s.raise_case(Immediate_risk="yes")
    words = text_of(s.mail("notice", OTHER))
    assert "Find a way forward (by Monday 23 November 2026, 17:00, the stage's own deadline)" in words
    dates = re.findall(r"\(by (\w+day \d+ \w+ \d{4}, \d\d:\d\d)", words)
    assert dates and set(dates) == {"Monday 23 November 2026, 17:00"}
    s.close()


def test_after_an_outage_every_stage_keeps_the_timetable_the_raiser_was_given(tmp_path):
    s = scenario(tmp_path, "wolverhampton", {"directory": [
        {"agency": "Example Council", "domains": ["council.example.test"], "senior_manager": "Sol <sol@council.example.test>",
         "director": "Dana <dana@council.example.test>"},
        {"agency": "Example Health", "domains": ["health.example.test"], "designated_lead": "Nat <nat@health.example.test>",
         "director": "Kit <kit@health.example.test>"}]})
    s.raise_case()
    timetable = text_of(s.mail("confirmation", RAISER))
    assert "Stage 4 — Director / Assistant Directors: by Friday 11 December 2026, 17:00" in timetable
    s.at(2026, 12, 10, 10, 0)  # down from the first morning until Thursday 10 December
    s.h.run()
    case = s.case()
    assert case.stage == "4" and s.h.app.partnership.calendar.local(case.stage_due_at).date().isoformat() == "2026-12-11"
    late = text_of(s.mail("escalated", "dana@council.example.test"))
    assert "This notice is late: the previous stage's time ran out on Monday 7 December 2026, 17:00." in late
    stage_2 = text_of(s.mail("escalated", MANAGER))
    assert "This stage's own time has run out too (Wednesday 2 December 2026, 17:00)" in stage_2
    assert [e.kind for e in s.events()].count("escalated_to") == 3
    s.close()


def test_a_reminder_missed_in_an_outage_is_sent_once_and_says_it_is_late(tmp_path):
    s = scenario(tmp_path, "wolverhampton")
    s.raise_case()  # stage 1 due Monday 30 November 17:00; its reminder Friday 27 November 17:00
    s.at(2026, 11, 30, 9, 0)  # down over the weekend
    s.new()
    s.h.run()
    s.h.run()
    assert s.new() == [("reminder", OTHER)]
    words = text_of(s.mail("reminder", OTHER))
    assert "This reminder is late: it was due on Friday 27 November 2026, 17:00." in words
    assert "time ran out" not in words
    s.close()


# --- assumptions said out loud ----------------------------------------------------------------------
def test_essex_mails_say_which_numbers_are_the_partnerships_until_it_confirms_them(tmp_path, capsys):
    from tracker.cli.check import check
    from tracker.daemon.clock import SystemClock

    s = scenario(tmp_path / "assumed", "essex")
    s.raise_case()
    line = "Note: Stage 1: this partnership has set 3 working days; the policy gives no number."
    assert line in text_of(s.mail("notice", OTHER))
    confirmation = text_of(s.mail("confirmation", RAISER))
    assert line in confirmation and "Stage 6: this partnership has set 10 working days" in confirmation
    s.close()
    confirmed = {"policy": {"preset": "essex", "emergency_contacts": [["Immediate danger", "999"]], "overrides": {
        k: {"working_days": n} for k, n in (("1", 3), ("2", 2), ("3", 1), ("4", 5), ("5", 5), ("6", 10))}}}
    sure = scenario(tmp_path / "confirmed", "essex", confirmed)
    sure.raise_case()
    assert "Note:" not in text_of(sure.mail("notice", OTHER))
    assert "this partnership has set" not in text_of(sure.mail("confirmation", RAISER))
    sure.close()
    config = tmp_path / "config.toml"
    config.write_text(f'[partnership]\nid = "test"\n[policy]\npreset = "essex"\n[database]\n'
                      f'url = "sqlite:///{tmp_path / "c.db"}"\nurl_env = ""\n[inbox]\nkind = "maildir"\n'
                      f'path = "{tmp_path / "in"}"\n[outgoing]\nkind = "maildir"\npath = "{tmp_path / "out"}"\n'
                      '[security]\nreceiving_server = "none"\n')
    capsys.readouterr()
    assert check(str(config), SystemClock()) == 0
    warned = [x for x in capsys.readouterr().out.splitlines() if x.startswith("policy   WARN")]
    assert len(warned) == 7 and any('[policy.overrides."6"] working_days = 10' in w for w in warned)


# --- calendar entries follow the case -------------------------------------------------------------------
def event_of(mail) -> tuple[str, icalendar.Event]:
    [part] = [a for a in mail.iter_attachments() if a.get_content_type() == "text/calendar"]
    cal = icalendar.Calendar.from_ical(part.get_content())
    return str(cal["method"]), cal.walk("VEVENT")[0]


def test_a_deadline_in_a_calendar_is_cancelled_when_the_stage_is_done_with(tmp_path):
    s = scenario(tmp_path, "wolverhampton")
    s.raise_case()
    method, first = event_of(s.mail("notice", OTHER))
    assert (method, int(first["sequence"])) == ("PUBLISH", 0)
    s.reply(s.mail("notice", OTHER), OTHER, "ESCALATE: cannot agree")
    method, cancel = event_of(s.mail("calendar_cancelled", OTHER))
    assert (method, str(cancel["uid"]), int(cancel["sequence"]), str(cancel["status"])) == (
        "CANCEL", str(first["uid"]), 1, "CANCELLED")
    _, stage_2 = event_of(s.mail("escalated", MANAGER))
    s.reply(s.mail("escalated", OTHER_MANAGER), OTHER_MANAGER, "RESOLVED: assessment booked")
    for who in (MANAGER, OTHER_MANAGER):
        method, gone = event_of(s.mail("calendar_cancelled", who))
        assert (method, str(gone["uid"]), int(gone["sequence"])) == ("CANCEL", str(stage_2["uid"]), 1)
    assert "the case has been resolved" in text_of(s.mail("calendar_cancelled", MANAGER))
    assert len(s.mails("calendar_cancelled", OTHER)) == 1  # each entry cancelled once
    s.close()


def test_a_deadline_that_moves_is_sent_again_as_an_update(tmp_path):
    s = scenario(tmp_path, "wolverhampton")
    s.raise_case()
    s.reply(s.mail("notice", OTHER), OTHER, "ESCALATE: cannot agree")
    _, before = event_of(s.mail("escalated", MANAGER))
    bounced = next(r for r in s.rows() if r.kind == "escalated" and r.recipient == OTHER_MANAGER)
    with transaction(s.h.app.engine) as session:  # the other side's only manager: address unknown
        on_bounce(session, s.h.app.context(), bounced.message_id, (Failure(OTHER_MANAGER, "hard"),), 96, confirmed=True)
    assert s.case().clock_stopped_for == "other"
    s.at(2026, 11, 30, 10)  # five working days later business support corrects it
    s.reply(s.mail("delivery_failed", SUPPORT), SUPPORT, f"CORRECT {OTHER_MANAGER} -> riley.right@health.example.test")
    method, moved = event_of(s.mail("calendar_updated", MANAGER))
    assert (method, str(moved["uid"]), int(moved["sequence"])) == ("PUBLISH", str(before["uid"]), 1)
    assert moved.decoded("dtend") == s.case().stage_due_at > before.decoded("dtend")
    assert s.mails("escalated", "riley.right@health.example.test")  # the notice, again, to the right address
    s.close()
