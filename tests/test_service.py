"""The service on the embedded default: one message, one transaction, one move."""
from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tests.helpers.harness import Harness
from tests.helpers.mail import MANAGER, OTHER, WORKER, intake, mail
from tracker.cases import record
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail, Party


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


def sent(h) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted((h.base / "sent" / "new").glob("*.eml"))]


def open_case(h) -> Case:
    h.deliver(intake())
    assert h.run() == (1, 2)
    return rows(h, Case)[0]


def notice_id(h) -> str:
    return next(o.message_id for o in rows(h, OutboxMail) if o.kind == "notice")


def reply(h, sender: str, text: str) -> None:
    h.clock.now += timedelta(minutes=10)
    h.deliver(mail(sender, "RE: your case", text + "\n\n> quoted history\n", in_reply_to=notice_id(h)))


def test_intake_opens_a_case_with_confirmation_and_notice(harness):
    case = open_case(harness)
    assert case.ref == "ESC-2026-0001" and case.stage == "1" and case.status == "open"
    # Wolverhampton stage 1: 5 working days from Monday 23 Nov 2026 -> Monday 30 Nov, 17:00 London.
    assert case.stage_due_at.isoformat() == "2026-11-30T17:00:00+00:00"
    mails = {m["To"]: m for m in sent(harness)}
    assert set(mails) == {WORKER, OTHER}
    assert "[ESC-2026-0001]" in mails[WORKER]["Subject"] and "[ESC-2026-0001]" in mails[OTHER]["Subject"]
    assert "ACKNOWLEDGED" in mails[OTHER].get_body(("plain",)).get_content()
    assert {p.role for p in rows(harness, Party)} == {"raiser", "raiser_manager", "other_party", "other_manager"}
    assert len(harness.folder("Processed")) == 1 and harness.folder("INBOX") == []


def test_a_second_run_does_nothing_twice(harness):
    open_case(harness)
    assert harness.run() == (0, 0)
    assert len(rows(harness, OutboxMail)) == 2 and len(rows(harness, Case)) == 1


def test_a_message_recorded_but_not_moved_is_only_moved_on_restart(harness):
    """A crash between the commit and the move: the next run must not handle it again."""
    harness.deliver(intake())
    raw_path = harness.folder("INBOX")[0]
    copy = raw_path.read_bytes()
    harness.run()
    harness.deliver(copy)  # the same bytes again, as if the move had never happened
    assert harness.run() == (1, 0)
    assert len(rows(harness, Case)) == 1 and len(rows(harness, InboundMessage)) == 1
    assert len(harness.folder("Processed")) == 2


def test_acknowledged_by_the_other_party(harness):
    open_case(harness)
    reply(harness, f"Drew Sample <{OTHER}>", "Acknowledged: reviewing today")
    assert harness.run() == (1, 1)
    case = rows(harness, Case)[0]
    assert case.acknowledged_at is not None
    assert sent(harness)[-1]["To"] == WORKER


def test_resolved_tells_every_party_and_business_support(harness):
    open_case(harness)
    reply(harness, OTHER, "RESOLVED - assessment starts Monday.")
    harness.run()
    case = rows(harness, Case)[0]
    assert case.status == "resolved" and case.outcome == "assessment starts Monday."
    last = {(o.kind, o.recipient) for o in rows(harness, OutboxMail)[2:]}
    assert ("resolution_record", "business@partnership.example.test") in last
    assert {r for k, r in last if k == "resolved"} == {WORKER, OTHER, MANAGER, "riley.sample@health.example.test"}


def test_escalate_moves_to_stage_two_and_brings_in_the_managers(harness):
    open_case(harness)
    reply(harness, OTHER, "Not agreed. We hold to the decision.")
    harness.run()
    case = rows(harness, Case)[0]
    assert case.stage == "2"
    new = [(o.kind, o.recipient) for o in rows(harness, OutboxMail)[2:]]
    assert ("escalated", MANAGER) in new and ("escalation_feedback", WORKER) in new


def test_a_stranger_replying_with_a_valid_reference_changes_nothing_and_learns_nothing(harness):
    open_case(harness)
    before = len(rows(harness, Event))
    reply(harness, "nosy@council.example.test", "RESOLVED")
    harness.run()
    assert rows(harness, Case)[0].status == "open"
    assert len(rows(harness, Event)) == before
    answer = sent(harness)[-1]
    assert answer["To"] == "nosy@council.example.test"
    text = answer.get_body(("plain",)).get_content()
    assert "ESC-2026-0001" not in text and "CH-1001" not in text and "early help" not in text


def test_only_the_raiser_may_withdraw(harness):
    open_case(harness)
    reply(harness, OTHER, "WITHDRAW")
    harness.run()
    assert rows(harness, Case)[0].status == "open"
    assert sent(harness)[-1]["To"] == OTHER and "not changed" in sent(harness)[-1]["Subject"]
    reply(harness, WORKER, "Withdraw, sorted locally.")
    harness.run()
    assert rows(harness, Case)[0].status == "withdrawn"


def test_automatic_replies_and_strangers_are_quarantined_and_never_answered(harness):
    open_case(harness)
    harness.deliver(mail(OTHER, "Automatic reply: your case", "Out of office. RESOLVED.",
                         in_reply_to=notice_id(harness), headers={"Auto-Submitted": "auto-replied"}))
    harness.deliver(intake(sender="Eve <eve@elsewhere.example.test>"))
    assert harness.run() == (2, 0)
    assert len(harness.folder("Quarantine")) == 2
    reasons = [m.reason for m in rows(harness, InboundMessage)[1:]]
    assert reasons[0].startswith("auto_reply") and reasons[1].startswith("outside_partners")
    assert rows(harness, Case)[0].status == "open" and len(rows(harness, Case)) == 1


def test_an_intake_with_missing_values_gets_told_what_to_fix(harness):
    harness.deliver(mail(WORKER, "Escalation", "Case reference: CH-1\nCategory: other\n"))
    assert harness.run() == (1, 1)
    assert rows(harness, Case) == []
    answer = sent(harness)[0]
    text = answer.get_body(("plain",)).get_content()
    assert answer["To"] == WORKER and "Disagreement with:" in text and "Outcome sought" in text


def test_the_record_detects_an_edit(harness):
    open_case(harness)
    reply(harness, OTHER, "ACKNOWLEDGED")
    harness.run()
    with Session(harness.app.engine) as s:
        case = s.exec(select(Case)).one()
        assert record.verify(s, case).ok
        s.exec(sa.update(Event).where(Event.seq == 2).values(summary="something else"))
        s.commit()
        result = record.verify(s, case)
    assert not result.ok and "entry 2" in result.problem


def test_immediate_risk_runs_same_day_and_alerts_the_lead(harness):
    harness.deliver(intake(risk="yes"))
    harness.run()
    case = rows(harness, Case)[0]
    assert case.immediate_risk and case.stage_due_at.isoformat() == "2026-11-23T17:00:00+00:00"
    kinds = {(o.kind, o.recipient) for o in rows(harness, OutboxMail)}
    assert ("immediate_risk_alert", "dsl@partnership.example.test") in kinds
    confirmation = next(m for m in sent(harness) if m["To"] == WORKER).get_body(("plain",)).get_content()
    assert "999" in confirmation and "IMMEDIATE RISK" in confirmation


def test_sent_mail_carries_threading_and_loop_protection_headers(harness):
    open_case(harness)
    for m in sent(harness):
        assert "ESC-2026-0001" in m["Message-ID"]
        assert m["Auto-Submitted"] in ("auto-generated", "auto-replied")
        assert m["X-Escalations-Service"] == "test"
        assert m["References"]


def test_an_intake_about_a_professionals_conduct_gets_the_whistleblowing_route(harness):
    body = intake().replace(b"Referral for an early help assessment declined.",
                            b"The health visitor's conduct during the home visit was unprofessional.")
    harness.deliver(body)
    assert harness.run() == (1, 1)
    assert rows(harness, Case) == []
    text = sent(harness)[0].get_body(("plain",)).get_content()
    assert "whistleblowing" in text and "LADO" in text


def test_a_database_outage_leaves_mail_in_the_inbox_rather_than_quarantining_it(harness, monkeypatch):
    import pytest

    from tracker.incoming import ingest as service

    harness.deliver(intake())

    def unreachable(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(service, "handle", unreachable)
    with pytest.raises(sa.exc.OperationalError):
        harness.run()
    assert len(harness.folder("INBOX")) == 1 and harness.folder("Quarantine") == []
    monkeypatch.undo()
    assert harness.run() == (1, 2)  # handled once the database is back


def _what_happened(h) -> dict:
    """Everything a batch of mail left behind, without the row ids (which depend on order)."""
    with Session(h.app.engine) as s:
        refs = {c.id: c.ref for c in s.exec(select(Case))}
        out = {
            "cases": [(c.ref, c.stage, c.immediate_risk, c.stage_due_at, c.remind_at, c.raiser_agency, c.other_agency)
                      for c in s.exec(select(Case).order_by(Case.ref))],
            "parties": sorted((refs[p.case_id], p.role, p.side, p.email, p.name, p.title, p.agency, p.stage)
                              for p in s.exec(select(Party))),
            "events": sorted((refs[e.case_id], e.seq, e.kind, e.actor, e.stage, e.summary) for e in s.exec(select(Event))),
            # answers to mail that opens no case are keyed by the inbound row's id: order-dependent
            # Message-IDs carry a random token (unguessable, so a forged report cannot name one)
            "mail": sorted((o.idem_key, re.sub(r"\.[0-9a-f]{16}@", ".<token>@", o.message_id)) if o.case_id
                           else (o.kind, o.recipient)
                           for o in s.exec(select(OutboxMail))),
            "inbound": sorted((m.source_key, m.disposition, m.reason, refs.get(m.case_id), m.raw is not None)
                              for m in s.exec(select(InboundMessage))),
            "verified": [record.verify(s, c).ok for c in s.exec(select(Case))],
        }
    return out


def test_a_batch_of_mail_opens_the_same_cases_as_one_message_at_a_time(tmp_path, clock, database_url, request):
    """Cases are opened together at the end of a batch (a few statements for all of them):
    the cases, people, record, mail and inbound rows must be those of one message at a time."""
    def ref(raw: bytes, n: int) -> bytes:  # one escalation, one case: each a client of its own
        return raw.replace(b"CH-1001-TEST", f"CH-100{n}-TEST".encode())

    mixed = [intake(), ref(intake(risk="yes"), 2), intake().replace(b"Date of decision: 20/11/2026\n", b""),
             mail("Stranger <someone@elsewhere.example.test>", "Escalation", "Case reference: X"),
             ref(intake(sender=f"Morgan Tester <{MANAGER}>"), 3), ref(intake(risk="yes", sender=f"Drew Sample <{OTHER}>"), 4),
             ref(intake(sender=f"Morgan Tester <{MANAGER}>"), 3)]  # the same escalation again: opens nothing
    extra = {"board": {"board_manager": "Bo Manager <board.manager@partnership.example.test>"}}
    second_url = (f"sqlite:///{tmp_path / 'one.db'}" if database_url.startswith("sqlite")
                  else request.getfixturevalue("postgres").new_database("one_at_a_time"))
    together = Harness(tmp_path / "together", clock, policy="wiltshire", extra=extra, database_url=database_url)
    apart = Harness(tmp_path / "apart", clock, policy="wiltshire", extra=extra, database_url=second_url)
    for raw in mixed:
        together.deliver(raw)
        apart.deliver(raw)
        apart.run()
    together.run()
    batch, single = _what_happened(together), _what_happened(apart)
    assert [c[:3] for c in batch["cases"]] == [("ESC-2026-0001", "pre-escalation", False), ("ESC-2026-0002", "3", True),
                                               ("ESC-2026-0003", "pre-escalation", False), ("ESC-2026-0004", "3", True)]
    assert ("ESC-2026-0002", "board_manager", "board", "board.manager@partnership.example.test", "Bo Manager", None,
            "Board", "3") in batch["parties"]
    assert [d for _, d, *_ in batch["inbound"]] == ["processed", "processed", "processed", "quarantine", "processed",
                                                    "processed", "processed"]
    assert all(batch["verified"]) and len(batch["verified"]) == 4
    assert batch == single
    for h in (together, apart):
        h.app.engine.dispose()
