"""A whole case played by mail through real Postfix and Dovecot: every party replies from
their own mailbox to the mail they actually received."""
from __future__ import annotations

from sqlmodel import Session, select

from tests.helpers.stack import INTAKE, OTHER, WORKER, intake_mail, parsed, reply_to, service_config
from tracker.cases import record
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.storage.models import Case

MANAGER = "manager@council.example.test"
OTHER_MANAGER = "othermanager@health.example.test"
BUSINESS = "business@partnership.example.test"
STRANGER = "stranger@elsewhere.example.test"


def test_a_case_played_by_mail_from_the_parties_own_mailboxes(mailstack, tmp_path, monkeypatch):
    stack = mailstack
    stack.clear()
    cfg = service_config(stack, tmp_path, monkeypatch)
    app = App.from_config(cfg, SystemClock())

    stack.send(intake_mail().replace(b"Riley Sample <othermanager@health.example.test>",
                                     f"Riley Sample <{OTHER_MANAGER}>".encode()), WORKER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app.run_once()
    [notice] = stack.wait_for(OTHER, 1)
    stack.wait_for(WORKER, 1)

    # An out-of-office from the other party and a stranger's reply change nothing.
    stack.send(reply_to(notice, OTHER, "I am out of the office. RESOLVED",
                        {"Auto-Submitted": "auto-replied"}), OTHER, [INTAKE])
    stack.send(reply_to(notice, STRANGER, "RESOLVED"), STRANGER, [INTAKE])
    stack.wait_for(INTAKE, 2)
    app.run_once()
    with Session(app.engine) as s:
        assert s.exec(select(Case)).one().status == "open"

    stack.send(reply_to(notice, OTHER, "Acknowledged, looking at it"), OTHER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app.run_once()
    assert any("acknowledged" in str(parsed(m)["Subject"]) for m in stack.wait_for(WORKER, 2))

    stack.send(reply_to(notice, OTHER, "Not agreed - the threshold was applied correctly"), OTHER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app.run_once()
    [escalated] = stack.wait_for(OTHER_MANAGER, 1)
    stack.wait_for(MANAGER, 1)
    assert "stage 2" in str(parsed(escalated)["Subject"])

    stack.send(reply_to(escalated, OTHER_MANAGER, "RESOLVED: early help assessment to start on Monday; "
                        "the health visitor will attend"), OTHER_MANAGER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    app.run_once()

    with Session(app.engine) as s:
        case = s.exec(select(Case)).one()
        assert case.status == "resolved" and case.stage == "2"
        assert case.outcome.startswith("early help assessment to start on Monday")
        assert record.verify(s, case).ok
    for who in (WORKER, OTHER, MANAGER, OTHER_MANAGER):
        resolved = [m for m in stack.messages(who) if "Resolved" in str(parsed(m)["Subject"])]
        assert len(resolved) == 1, who
        attachments = [a.get_filename() for a in parsed(resolved[0]).iter_attachments()]
        assert attachments == [f"{case.ref}-record.html"]
    [business] = [m for m in stack.messages(BUSINESS) if "Notification of an Escalation" in str(parsed(m)["Subject"])]
    assert case.ref in str(parsed(business)["Subject"])
    assert stack.messages(STRANGER) == []  # never answered: outside the partner domains
    assert len(stack.messages(INTAKE, "Quarantine")) == 2
