"""Whole cases on a moved clock: reminders, deadlines passing, the next stage's people, the
final route. Wolverhampton unless said otherwise."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sqlmodel import Session, select

from tests.helpers.harness import LONDON, Harness
from tests.helpers.mail import MANAGER, OTHER, OTHER_MANAGER, WORKER, intake, mail
from tracker.cases import record
from tracker.storage.models import Case, OutboxMail


def at(h: Harness, *args) -> None:
    h.clock.now = datetime(*args, tzinfo=LONDON)


def case(h: Harness) -> Case:
    with Session(h.app.engine) as s:
        return s.exec(select(Case)).one()


def new_mail(h: Harness, since: int) -> list[tuple[str, str]]:
    with Session(h.app.engine) as s:
        return [(o.kind, o.recipient) for o in s.exec(select(OutboxMail).order_by(OutboxMail.id))][since:]


def count(h: Harness) -> int:
    return len(new_mail(h, 0))


def opened(h: Harness) -> None:
    h.deliver(intake())
    h.run()


def test_reminder_one_working_day_before_the_deadline(harness):
    opened(harness)  # Monday 23 Nov 10:00; stage 1 due Monday 30 Nov 17:00
    n = count(harness)
    at(harness, 2026, 11, 27, 16, 59)
    harness.run()
    assert new_mail(harness, n) == []
    at(harness, 2026, 11, 27, 17, 0)
    harness.run()
    assert new_mail(harness, n) == [("reminder", OTHER)]
    harness.run()
    assert new_mail(harness, n) == [("reminder", OTHER)]  # once


def test_deadline_passing_escalates_to_the_managers_and_tells_the_raiser(harness):
    opened(harness)
    n = count(harness)
    at(harness, 2026, 11, 30, 17, 0)
    harness.run()
    c = case(harness)
    assert c.stage == "2"
    # stage 1 ran its 5 WD to Monday 30 Nov; stage 2's 2 WD follow on from that day: Wednesday
    # 2 Dec 17:00, the 7 WD the policy's cumulative table gives (and the confirmation listed)
    assert c.stage_due_at.isoformat() == "2026-12-02T17:00:00+00:00"
    mails = new_mail(harness, n)
    assert ("escalated", MANAGER) in mails and ("escalated", OTHER_MANAGER) in mails
    assert ("escalation_feedback", WORKER) in mails
    assert not any(kind == "reminder" for kind, _ in mails)  # too late to remind at the deadline


def test_escalation_notice_carries_the_history(harness):
    opened(harness)
    at(harness, 2026, 11, 30, 17, 0)
    harness.run()
    with Session(harness.app.engine) as s:
        raw = s.exec(select(OutboxMail).where(OutboxMail.kind == "escalated")).first().raw.decode()
    assert "case opened at stage 1" in raw and "ran out unresolved" in raw


def test_nobody_known_for_stage_three_asks_business_support_to_route_it(harness):
    opened(harness)
    at(harness, 2026, 11, 30, 17, 0)
    harness.run()
    n = count(harness)
    at(harness, 2026, 12, 2, 17, 0)
    harness.run()
    assert case(harness).stage == "3"
    assert ("route_request", "business@partnership.example.test") in new_mail(harness, n)
    with Session(harness.app.engine) as s:
        assert any(e.kind == "needs_routing" for e in record.events(s, case(harness)))


def test_the_directory_names_stage_three_people(tmp_path, clock):
    h = Harness(tmp_path, clock, extra={
        "directory": [
            {"agency": "Example Council", "domains": ["council.example.test"],
             "senior_manager": "Sol Senior, Head of Service <senior@council.example.test>"},
            {"agency": "Example Health", "domains": ["health.example.test"],
             "designated_lead": ["Dee Lead, Named Nurse <named.nurse@health.example.test>"]},
        ]})
    opened(h)
    at(h, 2026, 11, 30, 17, 0)
    h.run()
    n = count(h)
    at(h, 2026, 12, 2, 17, 0)
    h.run()
    mails = new_mail(h, n)
    assert ("escalated", "senior@council.example.test") in mails
    assert ("escalated", "named.nurse@health.example.test") in mails
    assert not any(kind == "route_request" for kind, _ in mails)


def test_after_downtime_each_missed_notice_goes_once_marked_late(harness):
    opened(harness)
    at(harness, 2026, 12, 2, 10, 0)  # down from before Friday's reminder until Wednesday
    harness.run()
    harness.run()
    c = case(harness)
    assert c.stage == "2"  # stage 2 keeps the time the policy gave it: due today, not two days on
    assert c.stage_due_at.isoformat() == "2026-12-02T17:00:00+00:00"
    with Session(harness.app.engine) as s:
        escalated = s.exec(select(OutboxMail).where(OutboxMail.kind == "escalated")).all()
    assert len(escalated) == 2 and all(b"This notice is late" in m.raw for m in escalated)


def pass_deadline(h: Harness) -> None:
    h.clock.now = case(h).stage_due_at + timedelta(minutes=1)
    h.run()


def test_wolverhampton_stage_four_lets_the_raiser_escalate_and_the_exceptional_stage_is_final(harness):
    opened(harness)
    for _ in range(4):
        pass_deadline(harness)
    c = case(harness)
    assert c.stage == "4" and c.expiry_handled_at is not None and c.status == "open"
    assert ("may_escalate", WORKER) in new_mail(harness, 0)
    n = count(harness)
    harness.run()
    assert new_mail(harness, n) == []  # the rule runs once
    with Session(harness.app.engine) as s:
        notice = s.exec(select(OutboxMail).where(OutboxMail.kind == "may_escalate")).one()
    harness.deliver(mail(WORKER, "RE: stage 4", "ESCALATE: no agreement at director level",
                         in_reply_to=notice.message_id))
    harness.run()
    assert case(harness).stage == "exceptional"
    pass_deadline(harness)
    assert ("final_route", "business@partnership.example.test") in new_mail(harness, n)


def test_wiltshire_runs_pre_escalation_to_the_board(tmp_path, clock):
    h = Harness(tmp_path, clock, policy="wiltshire", extra={
        "board": {"board_manager": "Bo Manager <board.manager@partnership.example.test>"}})
    opened(h)
    assert case(h).stage == "pre-escalation"
    stages = []
    for _ in range(6):
        h.clock.now = case(h).stage_due_at + timedelta(minutes=1)
        h.run()
        stages.append(case(h).stage)
    assert stages[:3] == ["1", "2", "3"]
    mails = new_mail(h, 0)
    assert ("escalated", "board.manager@partnership.example.test") in mails
    assert ("final_route", "board.manager@partnership.example.test") in mails
    assert ("final_route_feedback", WORKER) in mails


def attachments(h: Harness, kind: str) -> list:
    import email
    import email.policy

    with Session(h.app.engine) as s:
        rows = s.exec(select(OutboxMail).where(OutboxMail.kind == kind)).all()
    msgs = [email.message_from_bytes(r.raw, policy=email.policy.default) for r in rows]
    return [list(m.iter_attachments()) for m in msgs]


def test_notices_carry_a_calendar_entry_at_the_due_time(harness):
    import icalendar

    opened(harness)
    [parts] = attachments(harness, "notice")
    assert parts[0].get_content_type() == "text/calendar"
    cal = icalendar.Calendar.from_ical(parts[0].get_content())
    event = cal.walk("VEVENT")[0]
    assert event.decoded("dtend").isoformat() == "2026-11-30T17:00:00+00:00"
    assert "ESC-2026-0001" in str(event["summary"])


def test_resolution_confirmation_attaches_the_whole_record(harness):
    opened(harness)
    with Session(harness.app.engine) as s:
        notice = s.exec(select(OutboxMail).where(OutboxMail.kind == "notice")).one()
    harness.deliver(mail(OTHER, "RE: notice", "Resolved: assessment booked.", in_reply_to=notice.message_id))
    harness.run()
    parts = attachments(harness, "resolved")
    assert len(parts) == 4
    docs = {p[0].get_content() for p in parts}
    assert len(docs) == 1  # every party files the same record
    doc = docs.pop()
    assert "ESC-2026-0001" in doc and "assessment booked." in doc and "intact" in doc


@pytest.mark.parametrize("policy", ["wolverhampton", "wiltshire", "essex", "west-sussex"])
def test_every_preset_runs_from_intake_to_its_final_route_on_deadlines_alone(tmp_path, clock, policy):
    """Nobody replies: each stage's deadline moves the case on, the raiser hears at every
    stage, and the policy's final route is told once at the end."""
    h = Harness(tmp_path, clock, policy=policy)
    opened(h)
    preset = h.app.partnership.policy
    seen = [case(h).stage]
    for _ in range(len(preset.stages) + 2):
        pass_deadline(h)
        seen.append(case(h).stage)
    chain = [s.key for s in preset.stages]
    # the case walks the chain in order until a stage's rule stops it (final, or "you may escalate")
    walked = list(dict.fromkeys(seen))
    assert walked == chain[:len(walked)]
    stop = preset.stage(walked[-1])
    assert stop.on_expiry in ("final", "notify_raiser") or preset.next_stage(stop.key) is None
    mails = new_mail(h, 0)
    feedback = [k for k, to in mails if to == WORKER and k in ("escalation_feedback", "may_escalate",
                                                              "final_route_feedback")]
    assert len(feedback) == len(walked)  # told at every move, and at the end
    ends = [k for k, _ in mails if k in ("final_route", "may_escalate")]
    assert len(ends) >= 1 and len([k for k in ends if k == "final_route"]) <= len(h.app.partnership.business_support)


def test_an_escalation_notice_lists_the_stage_steps_with_their_times(tmp_path, clock):
    harness = Harness(tmp_path, clock, extra={"directory": [
        {"agency": "Example Council", "domains": ["council.example.test"],
         "senior_manager": "Sol Senior <senior@council.example.test>"}]})
    opened(harness)
    for _ in range(2):  # to stage 3: "referred in writing within 24 hours", dialogue within 2 WD more
        pass_deadline(harness)
    c = case(harness)
    assert c.stage == "3"
    with Session(harness.app.engine) as s:
        notice = s.exec(select(OutboxMail).where(OutboxMail.kind == "escalated")
                        .order_by(OutboxMail.id.desc())).first()
    import email
    import email.policy

    text = email.message_from_bytes(notice.raw, policy=email.policy.default).get_body(("plain",)).get_content()
    started = harness.app.partnership.calendar.local(c.stage_started_at)
    in_24h = harness.app.partnership.calendar.local(c.stage_started_at + timedelta(hours=24))
    assert "Referred in writing" in text and f"{in_24h:%A} {in_24h.day} {in_24h:%B %Y, %H:%M}" in text
    assert started < in_24h
