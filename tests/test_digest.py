"""The weekly digest and the Board's export, on a controlled clock.

The seeded week is 2026-W48, Monday 23 to Sunday 29 November 2026 (London is on GMT), with
the Wolverhampton policy: stages 1-4 end 5, 7, 10 and 14 working days after raising.
"""
from __future__ import annotations

import csv
import email
import email.policy
import io
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, strategies as st
from sqlmodel import Session, select

from tests.helpers.harness import LONDON
from tests.helpers.mail import OTHER, WORKER, intake, mail
from tracker.outgoing import outbox
from tracker.cases import record
from tracker.storage.db import transaction
from tracker.digest.weekly import (COLUMNS, build_digest, catch_up, digest_trigger, due_week, export_rows, iso_week,
                            queue_digest, render_html, render_text, resolution_csv, week_of)
from tracker.digest.weeks import scheduled_for
from tracker.storage.models import Case, DigestRun, InboundMessage, OutboxMail, Party

BUSINESS = "business@partnership.example.test"


def T(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def seed(s: Session, n: int, raised: datetime, *, stage="1", status="open", closed=None, due=None,
         category="threshold / level of need", raising="Example Council", receiving="Example Health",
         risk=False, gap=False, debrief=False, referred=None, text="x") -> Case:
    case = Case(ref=f"ESC-2026-{n:04d}", partnership="test", policy="wolverhampton", stage=stage, status=status,
                immediate_risk=risk, category=category, client_reference=f"{text} client",
                decision_disputed=f"{text} decision", decision_date=date(2026, 11, 1), reasons=f"{text} reasons",
                outcome_sought=f"{text} sought", discussions=f"{text} discussions", raised_at=raised,
                stage_started_at=raised, stage_due_at=due or raised + timedelta(days=7), closed_at=closed,
                outcome=f"{text} outcome" if status == "resolved" else None, thread_id=f"t{n}@example.test",
                policy_gap_flagged=gap, debrief_requested=debrief, referred_to_board_at=referred,
                raiser_agency=raising, other_agency=receiving)
    s.add(case)
    s.flush()
    return case


def seed_week(s: Session) -> None:
    """The cases every content test reads; letters in comments match the module docstring."""
    seed(s, 1, T(2026, 11, 16, 10), stage="2", due=T(2026, 11, 24, 17))  # A: open, 3 WD overdue
    seed(s, 2, T(2026, 11, 23, 10), due=T(2026, 11, 30, 17), receiving="Example Police")  # B: open, in time
    seed(s, 3, T(2026, 11, 24, 11), due=T(2026, 11, 27, 17), raising="Example School",  # C: 64 h overdue
         receiving="Example Council", risk=True)
    d = seed(s, 4, T(2026, 11, 18, 9, 30), stage="2", status="resolved", closed=T(2026, 11, 26, 12),
             raising="Example Health", receiving="Example Council", category="roles and responsibilities",
             gap=True, referred=T(2026, 11, 27, 10))  # D: resolved at stage 2 in 6 WD
    for kind, inbound in (("opened", 1), ("mail_out", None), ("update", 2), ("resolved", 3)):
        record.append(s, d, at=T(2026, 11, 26, 12), kind=kind, actor="x", summary=kind, inbound_id=inbound)
    seed(s, 5, T(2026, 11, 23, 14), status="withdrawn", closed=T(2026, 11, 25, 10))  # E: withdrawn, 2 WD
    seed(s, 6, T(2026, 11, 2, 10), status="resolved", closed=T(2026, 11, 20, 15), gap=True)  # F: last week
    seed(s, 7, T(2026, 11, 23, 9), stage="3", status="resolved", closed=T(2026, 11, 27, 16),  # G: 4 WD
         raising="Example Police", debrief=True)
    seed(s, 8, T(2026, 11, 30, 8, 30), due=T(2026, 12, 7, 17), raising=None)  # H: raised after the week
    for reason, at in (("outside_partners: x.test", T(2026, 11, 24)), ("outside_partners: y", T(2026, 11, 29, 23)),
                       ("outside_partners: z", T(2026, 11, 30, 1)), ("auto_reply", T(2026, 11, 25))):
        s.add(InboundMessage(partnership="test", mailbox="INBOX", source_key=reason, sha256=reason, received_at=at,
                             kind="intake", disposition="quarantine", reason=reason))
    # another partnership's quarantine in the same database is not ours to count
    s.add(InboundMessage(partnership="elsewhere", mailbox="OTHER", source_key="o", sha256="o",
                         received_at=T(2026, 11, 24), kind="intake", disposition="quarantine",
                         reason="outside_partners: other"))
    s.flush()


@pytest.fixture
def seeded(harness):
    with transaction(harness.app.engine) as s:
        seed_week(s)
    return harness


def digest_of(h, week="2026-W48", now=T(2026, 11, 30, 9)):
    with Session(h.app.engine) as s:
        return build_digest(s, h.app.partnership, week, now)


# -- weeks and the schedule -------------------------------------------------------------------

def test_iso_weeks_are_read_and_refused_clearly():
    assert iso_week("2026-W48") == (date(2026, 11, 23), date(2026, 11, 30))
    assert iso_week("2026-W53") == (date(2026, 12, 28), date(2027, 1, 4))
    assert week_of(T(2026, 11, 29, 23, 59)) == "2026-W48" and week_of(T(2027, 1, 3)) == "2026-W53"
    for bad, says in (("2026-48", "like 2026-W48"), ("2025-W53", "2025 has ISO weeks 01 to 52"),
                      ("2026-W00", "01 to 53"), ("", "like 2026-W48")):
        with pytest.raises(ValueError, match=says):
            iso_week(bad)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)))
def test_every_day_is_in_the_week_week_of_names(d):
    monday, next_monday = iso_week(week_of(d))
    assert monday <= d < next_monday and monday.weekday() == 0


def test_the_digest_due_is_the_week_before_the_last_scheduled_time(harness):
    p = harness.app.partnership  # Monday 09:00 London
    assert due_week(p, T(2026, 11, 30, 9), None) == "2026-W48"
    assert due_week(p, T(2026, 11, 30, 8, 59), None) == "2026-W47"
    assert due_week(p, T(2026, 11, 30, 9), "2026-W48") is None
    assert due_week(p, T(2026, 12, 16, 10), "2026-W47") == "2026-W50"  # three missed: only the latest
    friday = replace(p, digest_day=4, digest_time=time(16, 30))
    assert due_week(friday, T(2026, 11, 27, 16, 30), None) == "2026-W47"
    assert scheduled_for(friday, "2026-W47") == T(2026, 11, 27, 16, 30)


def test_the_apscheduler_trigger_fires_when_the_digest_is_scheduled(harness):
    p = harness.app.partnership
    trigger = digest_trigger(p)
    fire = trigger.get_next_fire_time(None, T(2026, 11, 25, 12))
    assert fire == T(2026, 11, 30, 9) and due_week(p, fire, "2026-W47") == "2026-W48"
    # Across the change to summer time: 09:00 BST is 08:00 UTC.
    fire = trigger.get_next_fire_time(None, T(2026, 3, 28, 12))
    assert fire.astimezone(timezone.utc) == datetime(2026, 3, 30, 8, tzinfo=timezone.utc)
    friday = replace(p, digest_day=4, digest_time=time(16, 30))
    assert digest_trigger(friday).get_next_fire_time(None, T(2026, 11, 25)) == T(2026, 11, 27, 16, 30)


# -- content ------------------------------------------------------------------------------------

def test_the_weeks_counts(seeded):
    d = digest_of(seeded)
    assert (d.opened, d.resolved, d.withdrawn, d.immediate_risk_opened) == (4, 2, 1, 1)
    assert (d.open_now, d.overdue_now, d.quarantined_outside) == (4, 2, 2)
    assert (d.policy_gaps, d.debriefs, d.referred_in_week) == (1, 1, 1)
    assert d.complete and not d.late and d.first_day == date(2026, 11, 23) and d.last_day == date(2026, 11, 29)


def test_open_cases_with_days_open_deadline_and_how_overdue(seeded):
    d = digest_of(seeded)
    rows = [(c.ref, c.stage, c.days_open, c.overdue_days, c.overdue_hours) for c in d.open_cases]
    assert rows == [("ESC-2026-0001", "2", 10, 3, None), ("ESC-2026-0003", "1", 4, 0, 64),
                    ("ESC-2026-0002", "1", 5, None, None), ("ESC-2026-0008", "1", 0, None, None)]
    assert d.open_cases[0].due_at == T(2026, 11, 24, 17) and d.open_unlisted == 0
    assert [(s.stage, s.open_now, s.overdue) for s in d.open_by_stage] == [("1", 3, 1), ("2", 1, 1)]
    text = render_text(d)
    assert "ESC-2026-0001  2" in text and "3 WD" in text and "64 h" in text


def test_resolutions_by_stage_against_the_policy_timetable(seeded):
    d = digest_of(seeded)
    assert [(r.ref, r.stage, r.outcome, r.working_days, r.timetable_days) for r in d.records] == [
        ("ESC-2026-0005", "1", "withdrawn", 2, 5), ("ESC-2026-0004", "2", "resolved", 6, 7),
        ("ESC-2026-0007", "3", "resolved", 4, 10)]
    by_stage = [(s.stage, s.resolved, s.withdrawn, s.timetable_days, s.median_days, s.within_timetable)
                for s in d.resolutions_by_stage]
    assert by_stage == [("1", 0, 1, 5, None, 0), ("2", 1, 0, 7, 6, 1), ("3", 1, 0, 10, 4, 1)]
    assert (d.records[1].entries, d.records[1].replies) == (4, 2)


def test_counts_by_category_and_agency(seeded):
    d = digest_of(seeded)
    raising = {c.label: (c.opened, c.closed, c.open_now) for c in d.by_raising_agency}
    assert raising == {"Example Council": (2, 1, 2), "Example School": (1, 0, 1), "Example Health": (0, 1, 0),
                       "Example Police": (1, 1, 0), "not given": (0, 0, 1)}
    receiving = {c.label: (c.opened, c.closed, c.open_now) for c in d.by_receiving_agency}
    assert receiving["Example Council"] == (1, 1, 1) and receiving["Example Police"] == (1, 0, 1)
    category = {c.label: (c.opened, c.closed, c.open_now) for c in d.by_category}
    assert category == {"threshold / level of need": (4, 2, 4), "roles and responsibilities": (0, 1, 0)}


def test_immediate_risk_board_flags_and_the_trend(seeded):
    d = digest_of(seeded)
    assert [m.ref for m in d.immediate_risk] == ["ESC-2026-0003"]
    assert [(m.ref, m.policy_gap, m.debrief, m.referred) for m in d.flagged] == [
        ("ESC-2026-0004", True, False, date(2026, 11, 27)), ("ESC-2026-0007", False, True, None)]
    trend = {t.week: (t.opened, t.resolved, t.withdrawn, t.open_at_end) for t in d.trend}
    assert len(trend) == 12 and list(trend)[0] == "2026-W37" and list(trend)[-1] == "2026-W48"
    assert trend["2026-W48"] == (4, 2, 1, 3) and trend["2026-W47"] == (2, 1, 0, 2)
    assert trend["2026-W45"] == (1, 0, 0, 1) and trend["2026-W44"] == (0, 0, 0, 0)


def test_the_current_week_so_far_says_so(seeded):
    d = digest_of(seeded, week="2026-W49", now=T(2026, 12, 2, 10))
    assert not d.complete and d.opened == 1
    text = render_text(d)
    assert "The week so far" in text and "has not ended" in text


def test_weeks_are_cut_at_local_midnight_in_summer_time(harness):
    with transaction(harness.app.engine) as s:
        seed(s, 1, T(2026, 6, 28, 23, 30))  # Sunday 23:30 BST is Sunday 22:30 UTC: still week 26
        seed(s, 2, T(2026, 6, 29, 0, 30))  # Monday 00:30 BST is Sunday 23:30 UTC: week 27
    assert digest_of(harness, "2026-W26", T(2026, 7, 6, 9)).opened == 1
    assert digest_of(harness, "2026-W27", T(2026, 7, 6, 9)).opened == 1


def test_a_long_open_list_is_capped_overdue_first_and_says_how_many_more(harness):
    with transaction(harness.app.engine) as s:
        for n in range(1, 56):  # 55 open; the first 30 overdue at the digest's now
            seed(s, n, T(2026, 11, 2, 10), due=T(2026, 11, 2, 17) + timedelta(days=n))
    d = digest_of(harness, now=T(2026, 12, 2, 17, 30))
    assert len(d.open_cases) == 50 and d.open_cases[0].ref == "ESC-2026-0001"
    assert (d.open_unlisted, d.open_unlisted_overdue, d.overdue_now) == (5, 0, 30)
    assert "Not listed: 5 more open cases, 0 of them overdue." in render_text(d)


# -- rendering, CSV and export ------------------------------------------------------------------

def test_html_is_outlook_friendly_and_escaped(seeded):
    with transaction(seeded.app.engine) as s:
        seed(s, 9, T(2026, 11, 24, 10), raising="<b>Acme</b> & Co")
    html = render_html(digest_of(seeded), seeded.app.composer)
    assert "class=" not in html and "<script" not in html and "<style" not in html
    assert "&lt;b&gt;Acme&lt;/b&gt; &amp; Co" in html and "<b>Acme" not in html
    assert html.count("<table") == html.count("</table>") and 'bgcolor="#2b6cb0"' in html
    assert "Escalations digest: week 2026-W48" in html


def test_csv_has_the_notification_columns_with_a_bom(seeded):
    data = resolution_csv(digest_of(seeded).records)
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS and len(COLUMNS) == 13
    assert rows[2] == ["ESC-2026-0004", "2026-11-18", "2026-11-26", "2 (Line / Team Managers)",
                       "Example Health; Example Council", "", "x decision", "roles and responsibilities",
                       "2026-11-18, at intake: x discussions", "resolved: x outcome", "6", "7", "2026-11-27"]


def test_csv_cells_are_never_formulas(harness):
    with transaction(harness.app.engine) as s:
        seed(s, 1, T(2026, 11, 23, 10), status="resolved", closed=T(2026, 11, 24, 10), raising="=1+2")
        rows = export_rows(s, harness.app.partnership, None, None)
    assert "'=1+2; Example Health" in resolution_csv(rows).decode("utf-8-sig")


def test_export_takes_an_inclusive_range_of_local_closing_dates(harness):
    with transaction(harness.app.engine) as s:
        seed(s, 1, T(2026, 6, 1, 10), status="resolved", closed=T(2026, 7, 1, 0, 30))  # 30 Jun 23:30 UTC
        seed(s, 2, T(2026, 6, 1, 10), status="withdrawn", closed=T(2026, 6, 30, 16))
        seed(s, 3, T(2026, 6, 1, 10))  # open: never in the export
        p = harness.app.partnership
        refs = lambda a, b: [r.ref for r in export_rows(s, p, a, b)]  # noqa: E731
        assert refs(None, None) == ["ESC-2026-0002", "ESC-2026-0001"]
        assert refs(date(2026, 7, 1), None) == ["ESC-2026-0001"]
        assert refs(None, date(2026, 6, 30)) == ["ESC-2026-0002"]
        assert refs(date(2026, 6, 30), date(2026, 6, 30)) == ["ESC-2026-0002"]
        with pytest.raises(ValueError, match="ends"):
            export_rows(s, p, date(2026, 7, 2), date(2026, 7, 1))


# -- personal data ------------------------------------------------------------------------------

def mail_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = [str(msg[h]) for h in ("Subject", "To", "From")]
    for part in msg.walk():
        if not part.is_multipart():  # pictures (the charts) as bytes: no marker may hide in them either
            data = part.get_payload(decode=True)
            parts.append(data.decode("utf-8-sig") if part.get_content_maintype() == "text" else data.decode("latin-1"))
    return "\n".join(parts)


def test_no_personal_data_in_text_html_csv_or_the_mail(harness):
    """The client is in none of them (its reference, the reasons, the outcome sought). The
    Notification's own fields (professionals by name and agency, the issue, the record of
    discussions, the outcome) are in the export's CSV, as the form asks, and nowhere else:
    not in the digest, nor in the CSV the digest mail carries."""
    with transaction(harness.app.engine) as s:
        for n, status in enumerate(("open", "resolved", "withdrawn"), start=1):
            case = seed(s, n, T(2026, 11, 24, 10), status=status, text="ZQMARK",
                        closed=None if status == "open" else T(2026, 11, 26, 10), risk=True, gap=True)
            case.decision_disputed, case.discussions = "ZQFORM decision", "ZQFORM discussions"
            case.outcome = "ZQFORM outcome" if status == "resolved" else None
            s.add(Party(case_id=case.id, role="raiser", name="Ada ZQFORM", title="ZQMARK lead",
                        agency="Example Council", email="ada.zqform@council.example.test"))
            record.append(s, case, at=T(2026, 11, 25), kind="update", actor="ada.zqform@council.example.test",
                          summary="update from ada.zqform@council.example.test", statement="ZQFORM said")
    h = harness
    h.clock.now = T(2026, 11, 30, 9)
    with transaction(h.app.engine) as s:
        assert catch_up(s, h.app.context()) == "2026-W48"
    d = digest_of(h)
    raw = [outbox.bytes_of(h.app.composer, o)
           for o in Session(h.app.engine).exec(select(OutboxMail).where(OutboxMail.kind == "digest"))]
    csv_text = resolution_csv(d.records).decode("utf-8-sig")
    bodies = [render_text(d), render_html(d, h.app.composer), *map(mail_body, raw)]
    assert len(raw) == 1 and all("ESC-2026-0002" in o for o in bodies + [csv_text])
    assert not [o for o in bodies + [csv_text] + list(map(mail_text, raw)) if "zqmark" in o.lower()]
    assert not [o for o in bodies + list(map(mail_text, raw)) if "zqform" in o.lower()]
    for words in ("Ada ZQFORM (Example Council)", "ZQFORM decision", "at intake: ZQFORM discussions",
                  "Ada ZQFORM: ZQFORM said", "resolved: ZQFORM outcome"):
        assert words in csv_text, words


def mail_body(raw: bytes) -> str:
    """A mail's headers and words, without its attachments."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(("plain",)).get_content() + msg.get_body(("html",)).get_content()
    return "\n".join([str(msg[h]) for h in ("Subject", "To", "From")] + [body])


# -- sending: through the service ---------------------------------------------------------------

def sent_digests(h) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((h.base / "sent" / "new").glob("*digest.eml"))]


def run_catch_up(h) -> str | None:
    with transaction(h.app.engine) as s:
        return catch_up(s, h.app.context())


def test_the_service_writes_what_the_digest_reads_and_mails_it_once(harness):
    h = harness  # Monday 23 November 10:00
    h.deliver(intake())
    h.run()
    notice = next(o.message_id for o in Session(h.app.engine).exec(select(OutboxMail)) if o.kind == "notice")
    h.clock.now += timedelta(days=2)
    h.deliver(mail(OTHER, "RE: your case", "RESOLVED - assessment booked.", in_reply_to=notice))
    h.deliver(intake(risk="yes"))
    h.deliver(intake(sender="Eve <eve@elsewhere.example.test>"))
    h.run()
    h.clock.now = T(2026, 11, 30, 9)
    assert run_catch_up(h) == "2026-W48" and run_catch_up(h) is None
    h.run()
    [msg] = sent_digests(h)
    assert msg["To"] == BUSINESS and msg["Subject"] == "[digest] Safeguarding Partnership escalations: week 2026-W48"
    text = msg.get_body(("plain",)).get_content()
    assert "which has ended" in text and "Sent late" not in text
    assert "Raised with immediate risk" in text and "ESC-2026-0002" in text
    [attachment] = list(msg.iter_attachments())
    rows = list(csv.reader(io.StringIO(attachment.get_payload(decode=True).decode("utf-8-sig"))))
    assert rows[1][:4] == ["ESC-2026-0001", "2026-11-23", "2026-11-25", "1 (Practitioners)"]
    assert rows[1][4:] == ["Example Council; Example Health",  # no names and no words in the digest
                           "threshold / level of need", "0", "resolved", "2", "5", ""]
    d = digest_of(h)
    assert (d.opened, d.resolved, d.quarantined_outside) == (2, 1, 1)
    body = mail_body(msg.as_bytes())
    for personal in ("Casey", "Drew Sample", WORKER, "CH-1001", "early help", "missed health", "assessment booked"):
        assert personal not in body  # the digest itself: references, agencies, categories, stages, dates
    for client in ("CH-1001", "missed health"):
        assert client not in mail_text(msg.as_bytes())  # the client: by the agencies' reference only, never in the CSV


def test_after_downtime_only_the_latest_week_goes_once_and_says_late(harness):
    h = harness
    h.clock.now = T(2026, 11, 30, 8, 59)
    assert run_catch_up(h) == "2026-W47"  # first start: the digest of the last scheduled time
    h.clock.now = T(2026, 11, 30, 9)
    assert run_catch_up(h) == "2026-W48"
    h.clock.now = T(2026, 12, 16, 10)  # down over 7 and 14 December
    assert run_catch_up(h) == "2026-W50"
    assert run_catch_up(h) is None
    h.run()
    weeks = [r.week for r in Session(h.app.engine).exec(select(DigestRun).order_by(DigestRun.week))]
    assert weeks == ["2026-W47", "2026-W48", "2026-W50"]
    late = [m for m in sent_digests(h) if "2026-W50" in m["Subject"]]
    assert len(late) == 1 and "Sent late: this digest was due Mon 14 Dec 2026, 09:00" in \
        late[0].get_body(("plain",)).get_content()


def test_queue_digest_refuses_a_week_sent_already_or_not_over(harness):
    h = harness
    h.clock.now = T(2026, 12, 2, 10)
    with transaction(h.app.engine) as s:
        assert queue_digest(s, h.app.context(), "2026-W48") is True
        assert queue_digest(s, h.app.context(), "2026-W48") is False
        with pytest.raises(ValueError, match="has not ended"):
            queue_digest(s, h.app.context(), "2026-W49")
    rows = list(Session(h.app.engine).exec(select(OutboxMail).where(OutboxMail.kind == "digest")))
    assert [(r.recipient, r.idem_key) for r in rows] == [(BUSINESS, f"digest/test/2026-W48/{BUSINESS}")]
