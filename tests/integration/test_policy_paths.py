"""Two whole cases of issue 18 played by mail through real Postfix and Dovecot, every party
replying from their own mailbox to the mail they actually received: a West Sussex case about
a looked-after child, where the IRO is on the case from the start; and a Wiltshire
imminent-risk case, referred straight to the Board's nominated person."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from tests.helpers.harness import Clock
from tests.helpers.stack import INTAKE, OTHER, WORKER, intake_mail, parsed, reply_to, service_config
from tracker.cases import record
from tracker.config.load import config_from_dict
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.storage.models import Case

MANAGER = "manager@council.example.test"
OTHER_MANAGER = "othermanager@health.example.test"
BUSINESS = "business@partnership.example.test"
IRO = "iro@council.example.test"
REP = "rep@council.example.test"
BOARD_MANAGER = "boardmanager@partnership.example.test"
DSL = "dsl@partnership.example.test"


def words(raw: bytes) -> str:
    return parsed(raw).get_body(("plain",)).get_content()


def app_for(stack, tmp_path, monkeypatch, policy: str, extra: dict, clock: Clock) -> App:
    base = service_config(stack, tmp_path, monkeypatch)
    data = {"partnership": {"id": "e2e", "address": INTAKE, "business_support": [BUSINESS], "safeguarding_lead": DSL,
                            "partner_domains": ["partnership.example.test", "council.example.test",
                                                "health.example.test"]},
            "policy": {"preset": policy},
            "database": {"url": base.database_url, "url_env": ""},
            "inbox": {"kind": "imap", "host": "127.0.0.1", "port": base.partnership.inbox.port, "security": "tls",
                      "username": INTAKE, "password_env": "TEST_MAIL_PASSWORD", "ca_file": str(stack.ca_file)},
            "outgoing": {"kind": "smtp", "host": "127.0.0.1", "port": base.partnership.outgoing.port,
                         "security": "starttls", "username": INTAKE, "password_env": "TEST_MAIL_PASSWORD",
                         "ca_file": str(stack.ca_file)},
            "security": {"receiving_server": "none"},  # the test Postfix writes no Authentication-Results
            **extra}
    return App.from_config(config_from_dict(data, base=tmp_path), SystemClock(), now=clock)


def deliver(stack, app: App, raw: bytes, sender: str) -> None:
    stack.send(raw, sender, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app.run_once()


def the_case(app: App) -> Case:
    with Session(app.engine) as s:
        return s.exec(select(Case)).one()


def test_a_west_sussex_looked_after_case_with_the_iro_on_it_from_the_start(mailstack, tmp_path, monkeypatch):
    stack = mailstack
    stack.clear()
    clock = Clock(datetime.now(timezone.utc))
    app = app_for(stack, tmp_path, monkeypatch, "west-sussex", {"directory": [
        {"agency": "West Sussex County Council", "domains": ["council.example.test"],
         "iro": f"Ira Reviewing, Independent Reviewing Officer <{IRO}>"}]}, clock)

    intake = intake_mail().replace(b"Reasons:", b"Looked after: yes\nReasons:")
    deliver(stack, app, intake, WORKER)
    [involved] = stack.wait_for(IRO, 1)
    [notice] = stack.wait_for(OTHER, 1)
    [confirmation] = stack.wait_for(WORKER, 1)
    case = the_case(app)
    assert case.stage == "1" and f"[{case.ref}]" in str(parsed(involved)["Subject"])
    assert "Independent Reviewing Officer (IRO)" in words(involved) and "a party at every stage" in words(involved)
    assert "Ira Reviewing" in words(confirmation) and "this partnership has set 3 working days" in words(notice)

    # The IRO acknowledges from their own mailbox; the raiser hears.
    deliver(stack, app, reply_to(involved, IRO, "ACKNOWLEDGED: I will raise it at the child's review"), IRO)
    assert any("acknowledged" in str(parsed(m)["Subject"]) for m in stack.wait_for(WORKER, 2))

    # Level 1 runs out: level 2 goes to both managers and to the IRO, the raiser told who.
    clock.now = case.stage_due_at + timedelta(minutes=1)
    app.run_once()
    [escalated] = stack.wait_for(OTHER_MANAGER, 1)
    stack.wait_for(MANAGER, 1)
    assert "stage 2" in str(parsed(escalated)["Subject"])
    assert any("stage 2" in str(parsed(m)["Subject"]) for m in stack.wait_for(IRO, 2))
    [cancel] = [m for m in stack.wait_for(OTHER, 2) if "no longer applies" in str(parsed(m)["Subject"])]
    assert [a.get_content_type() for a in parsed(cancel).iter_attachments()] == ["text/calendar"]  # level 1 leaves

    deliver(stack, app, reply_to(escalated, OTHER_MANAGER, "UPDATE: spoke to the IRO and the social worker"),
            OTHER_MANAGER)
    iro_mail = [m for m in stack.wait_for(IRO, 3) if "stage 2" in str(parsed(m)["Subject"])]
    deliver(stack, app, reply_to(iro_mail[0], IRO, "RESOLVED: the care plan review on Friday adds the health "
                                 "assessment; the IRO will follow it up"), IRO)

    case = the_case(app)
    assert case.status == "resolved" and case.stage == "2"
    with Session(app.engine) as s:
        assert record.verify(s, case).ok
    for who in (WORKER, OTHER, MANAGER, OTHER_MANAGER, IRO):
        resolved = [m for m in stack.wait_for(who, 1) if "Resolved" in str(parsed(m)["Subject"])]
        assert len(resolved) == 1, who
    [note] = [m for m in stack.wait_for(BUSINESS, 1) if "Notification of an Escalation" in str(parsed(m)["Subject"])]
    text = words(note)
    assert "Ira Reviewing, Independent Reviewing Officer, West Sussex County Council <iro@council.example.test>" in text
    assert "spoke to the IRO and the social worker" in text and "escalations case" not in text
    assert [a.get_filename() for a in parsed(note).iter_attachments()] == [f"{case.ref}-record.html"]


def test_a_wiltshire_imminent_risk_case_goes_straight_to_the_nominated_person(mailstack, tmp_path, monkeypatch):
    stack = mailstack
    stack.clear()
    clock = Clock(datetime.now(timezone.utc))
    app = app_for(stack, tmp_path, monkeypatch, "wiltshire", {
        "directory": [{"agency": "Example Council", "domains": ["council.example.test"],
                       "board_representative": f"Rae Rep, WSCB representative <{REP}>"}],
        "board": {"board_manager": f"Bo Manager, Board Manager <{BOARD_MANAGER}>"}}, clock)

    deliver(stack, app, intake_mail().replace(b"Immediate risk: no", b"Immediate risk: yes"), WORKER)
    [referral] = stack.wait_for(REP, 1)  # the council's nominated person, at once
    [alert] = stack.wait_for(DSL, 1)
    [notice] = stack.wait_for(OTHER, 1)
    [confirmation] = stack.wait_for(WORKER, 1)
    case = the_case(app)
    assert case.stage == "3" and case.immediate_risk and case.referred_to_board_at is not None
    assert "IMMEDIATE RISK referred to you" in str(parsed(referral)["Subject"])
    assert "referred straight to stage 3" in words(referral) and "you said" not in words(referral)
    assert "IMMEDIATE RISK" in str(parsed(alert)["Subject"])
    assert "you said there is an immediate risk" in words(confirmation) and "Rae Rep" in words(confirmation)
    assert "you said" not in words(notice)
    # Example Health has no representative: the Board manager stands in for it.
    assert any("stage 3" in str(parsed(m)["Subject"]) for m in stack.wait_for(BOARD_MANAGER, 1))

    deliver(stack, app, reply_to(referral, REP, "RESOLVED: a strategy discussion is held today; the health "
                                 "visitor attends"), REP)
    case = the_case(app)
    assert case.status == "resolved" and case.stage == "3"
    [note] = [m for m in stack.wait_for(BUSINESS, 1) if "Notification of an Escalation" in str(parsed(m)["Subject"])]
    assert "Date referred to the Board: not referred" not in words(note)
    assert "Date referred to the Board: " in words(note)
    with Session(app.engine) as s:
        assert record.verify(s, case).ok
