"""Issue 18, points 4-6 and 9, through the Maildir inbox: a bounce reaches the people who
must fix the address and stops the clock of a side nobody reached; list mail moves a case
but is never answered; one escalation opens one case; a refused message is answered."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import icalendar
import pytest
from sqlmodel import Session, select

from parser import ParsedMessage, parse_message
from tests.helpers.harness import LONDON
from tests.helpers.scenarios import SUPPORT, Scenario, message, text_of
from tracker.cases.events import Failure, on_bounce
from tracker.incoming.handling import Openings, handle
from tracker.storage.db import transaction
from tracker.storage.models import InboundMessage

RAISER = "casey.tester@council.example.test"
OTHER = "drew.sample@health.example.test"
TYPO = "drew.sampel@health.example.test"


@pytest.fixture
def s(tmp_path):
    scenario = Scenario(tmp_path, "wolverhampton", datetime(2026, 11, 23, 10, tzinfo=LONDON))
    yield scenario
    scenario.close()


def exchange_ndr(failed) -> bytes:
    """An Exchange-style non-delivery report, sent later, threaded to the mail it is about."""
    return message("postmaster@health.example.test", "", (
        f"Delivery has failed to these recipients or groups:\n\n{failed['To']}\n"
        "The email address you entered couldn't be found.\n"), reply_to=failed).replace(
        b"Subject: RE: ", b"Subject: Undeliverable: ")


def test_a_late_bounce_of_the_notice_is_recorded_and_told_in_plain_words(s):
    s.raise_case(Disagreement_with=f"Drew Sample, Health Visitor, Example Health <{TYPO}>")
    notice = s.mail("notice", TYPO)
    s.new()
    s.send(exchange_ndr(notice))
    told = dict(s.new())
    assert set(told) == {"delivery_failed", "delivery_failed_feedback"} and told["delivery_failed"] == SUPPORT
    support = text_of(s.mail("delivery_failed", SUPPORT))
    assert f"A delivery report says a notice mail on case ESC-2026-0001 to {TYPO} could not be delivered" in support
    assert f"CORRECT {TYPO} -> the.right@address" in support and "escalations case" not in support
    assert f"sent to {TYPO} could not be delivered" in text_of(s.mail("delivery_failed_feedback", RAISER))
    assert "delivery_failed" in [e.kind for e in s.events()] and s.verified()
    with Session(s.h.app.engine) as session:
        [row] = session.exec(select(InboundMessage).where(InboundMessage.kind == "bounce")).all()
    assert row.disposition == "quarantine" and row.case_id == s.case().id  # kept aside, but on its case


def test_a_hard_bounce_of_the_only_recipient_stops_the_clock_until_business_support_corrects_it(s):
    s.raise_case(Disagreement_with=f"Drew Sample, Health Visitor, Example Health <{TYPO}>")
    notice = s.rows()[1]
    assert (notice.kind, notice.recipient) == ("notice", TYPO)
    with transaction(s.h.app.engine) as session:  # what the parser's reading of a DSN gives the tracker
        case_id, done = on_bounce(session, s.h.app.context(), f"<{notice.message_id}>",
                                  (Failure(TYPO, "hard", "5.1.1 user unknown"),), inbound_id=99, confirmed=True)
    assert case_id == s.case().id and "hard" in done
    stopped = s.case()
    assert stopped.clock_stopped_for == "other" and stopped.remind_at is None
    assert "the clock of stage 1 is stopped" in text_of(s.mail("delivery_failed", SUPPORT))
    s.at(2026, 12, 7, 10)  # a week past stage 1's deadline: nothing moves while nobody has the notice
    s.h.run()
    assert s.case().stage == "1" and s.mails("escalated") == []
    s.new()
    s.reply(s.mail("delivery_failed", SUPPORT), SUPPORT, f"CORRECT {TYPO} -> {OTHER}")
    again = s.case()
    assert again.clock_stopped_at is None and again.stage_due_at > stopped.stage_due_at
    assert sorted(s.new()) == [("notice", OTHER), ("support_done", SUPPORT)]  # nothing more to the bad address
    fresh = s.mail("notice", OTHER)
    [ics] = [a for a in fresh.iter_attachments() if a.get_content_type() == "text/calendar"]
    due = icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")[0].decoded("dtend")
    assert due == again.stage_due_at


def test_a_delay_notice_is_recorded_and_changes_nothing(s):
    s.raise_case()
    notice = s.rows()[1]
    s.new()
    with transaction(s.h.app.engine) as session:
        on_bounce(session, s.h.app.context(), notice.message_id, (Failure(OTHER, "delay", "4.4.1 retrying"),), 98, confirmed=True)
    assert s.new() == [] and s.case().clock_stopped_at is None
    assert [e.kind for e in s.events()][-1] == "delivery_delayed"


def test_a_report_about_mail_this_service_never_sent_changes_nothing(s):
    s.raise_case()
    s.new()
    with transaction(s.h.app.engine) as session:
        case_id, done = on_bounce(session, s.h.app.context(), "<not-ours@elsewhere.example.test>",
                                  (Failure(OTHER, "hard"),), 97, confirmed=True)
    assert case_id is None and "no mail this service sent" in done and s.new() == []


# --- list and group mail ------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class ListMessage(ParsedMessage):
    """A parsed message as the parser marks one that came through a list (branch hostile-parser)."""

    via_list: bool = True


def through_a_list(s: Scenario, raw: bytes) -> None:
    msg = parse_message(raw)
    listed = ListMessage(**{**{f.name: getattr(msg, f.name) for f in dataclasses.fields(ParsedMessage)},
                            "via_list": True})
    with transaction(s.h.app.engine) as session:
        row = InboundMessage(partnership="test", mailbox="INBOX", source_key=listed.message_id, sha256=listed.message_id,
                             received_at=s.clock.now, kind="reply", disposition="", reason="")
        session.add(row)
        session.flush()
        handle(session, s.h.app.context(), listed, row.id, "reply", 0, Openings())
    s.h.run()


def test_a_reply_through_a_team_list_moves_the_case_but_the_list_is_never_answered(s):
    s.raise_case()
    notice = s.mail("notice", OTHER)
    s.new()
    through_a_list(s, message(OTHER, "", "Thanks all, looking at this", reply_to=notice))
    assert s.new() == []  # no "we could not find a keyword" to a list
    through_a_list(s, message(OTHER, "", "ACKNOWLEDGED: reviewing with the team", reply_to=notice))
    assert s.case().acknowledged_at is not None and s.new() == [("acknowledged", RAISER)]


# --- one escalation, one case --------------------------------------------------------------------
def test_the_same_escalation_twice_opens_one_case_and_the_other_party_hears_once(s):
    s.raise_case()
    s.raise_case(Case_reference=" ch-2001-test ")  # sent again, as typed again
    s.raise_case(sender="kim.colleague@council.example.test",
                 Raised_by="Kim Colleague, Social Worker, Example Council <kim.colleague@council.example.test>")
    assert len(s.cases()) == 1 and len(s.mails("notice", OTHER)) == 1
    [mine] = s.mails("duplicate_intake", RAISER)
    assert "already open as case ESC-2026-0001" in str(mine["Subject"]) and "starting with UPDATE" in text_of(mine)
    [theirs] = s.mails("duplicate_intake", "kim.colleague@council.example.test")
    assert "You are not named on that case" in text_of(theirs) and SUPPORT in text_of(theirs)
    assert [e.kind for e in s.events()].count("duplicate_intake") == 2
    s.reply(s.mail("notice", OTHER), OTHER, "RESOLVED: assessment booked")
    s.raise_case()  # the case is closed: the disagreement has come back, a new case
    assert [c.ref for c in s.cases()] == ["ESC-2026-0001", "ESC-2026-0002"]


def test_the_same_client_with_another_agency_is_another_escalation(s):
    s.raise_case()
    s.raise_case(Disagreement_with="Pat Officer, Early Help Lead, The Partnership <pat.officer@partnership.example.test>")
    s.raise_case(Case_reference="CH-2002-TEST")
    assert len(s.cases()) == 3 and len(s.mails("duplicate_intake")) == 0


# --- a refused message is always answered ---------------------------------------------------------
def test_a_partys_reply_with_a_refused_attachment_is_answered_with_how_to_send_it(s):
    s.raise_case()
    notice = s.mail("notice", OTHER)
    s.new()
    s.reply(notice, OTHER, "UPDATE: minutes attached", attachments=(("minutes.zip", "application/zip", b"PK\x03\x04"),))
    [(kind, to)] = s.new()
    answer = text_of(s.mail("not_accepted", OTHER))
    assert (kind, to) == ("not_accepted", OTHER) and 'the attachment "minutes.zip"' in answer
    assert "on case ESC-2026-0001" in answer and "write what you want recorded in the email itself" in answer
    assert "update" not in [e.kind for e in s.events()]


def test_a_partys_update_with_an_html_record_is_kept_unopened(s):
    s.raise_case()
    notice = s.mail("notice", OTHER)
    page = b"<html><script>alert(1)</script>our notes</html>"
    s.reply(notice, OTHER, "UPDATE: our notes of the call", attachments=(("notes.html", "text/html", page),))
    [entry] = [e for e in s.events() if e.kind == "update"]
    assert entry.statement == "our notes of the call" and "attachment kept, not opened: notes.html" in entry.summary


@pytest.mark.parametrize("sender,answered", [("someone@council.example.test", True),
                                             ("someone@elsewhere.example.test", False)])
def test_a_message_that_is_neither_form_nor_reply_is_answered_only_within_the_partnership(s, sender, answered):
    s.send(message(sender, "Question", "Who do I talk to about a disagreement?"))
    assert s.new() == ([("not_accepted", sender)] if answered else [])
    if answered:
        assert "neither an escalation form nor a reply to a case" in text_of(s.mail("not_accepted", sender))


def test_automatic_mail_is_never_answered(s):
    s.raise_case()
    s.new()
    auto = message(OTHER, "Automatic reply: out of office", "I am away until Monday.")
    s.send(auto.replace(b"Subject:", b"Auto-Submitted: auto-replied\nSubject:"))
    assert s.new() == []
