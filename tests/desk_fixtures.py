"""A partnership with cases for the desk's tests: three cases between invented people of
three agencies, opened and moved on by real mail through the service (tests.conftest's
Harness), and the desk's settings giving each role to somebody.

    h, desk = desk_harness(tmp_path, clock)
    client = signed_in(desk, "business@partnership.example.test")
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from starlette.testclient import TestClient

from tests.helpers.harness import Harness
from tests.helpers.mail import mail
from tracker.config.load import config_from_dict
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.incoming.reading import IN_PROCESS
from tracker.desk.serve import desk_for
from tracker.desk.web import create_app
from tracker.storage.models import Case, OutboxMail

BUSINESS = "business@partnership.example.test"
BOARD = "board.manager@partnership.example.test"
HEALTH_LEAD = "nat.named@health.example.test"
POLICE_LEAD = "ira.lead@police.example.test"
SECRET_ENV = "ESCALATIONS_TEST_DESK_SECRET"

# All raised by the council (the test partnership's own domains): against health (case 1),
# the school (case 2) and the police (case 3). Client references and statements are what must never
# show in a URL or a log.
CASES = [
    ("CH-7001-DESK", "Casey Tester, Social Worker, Example Council <casey.tester@council.example.test>",
     "Drew Sample, Health Visitor, Example Health <drew.sample@health.example.test>", "threshold / level of need"),
    ("CH-7002-DESK", "Casey Tester, Social Worker, Example Council <casey.tester@council.example.test>",
     "Jo Dummy, Designated Safeguarding Lead, Example School <jo.dummy@school.example.test>",
     "communication and information sharing"),
    ("CH-7003-DESK", "Casey Tester, Social Worker, Example Council <casey.tester@council.example.test>",
     "Pat Placeholder, PC, Example Police <pat.placeholder@police.example.test>", "closing involvement"),
]

INTAKE = """Case reference: {client}
Immediate risk: no
Category: {category}
Raised by: {raiser}
Disagreement with: {other}
Decision disputed: The referral was declined as not meeting threshold.
Date of decision: 20/11/2026
Reasons: Bruising seen twice at nursery, recorded by the nursery manager.
Outcome sought: A strategy discussion this week.
"""


def desk_config(extra: dict | None = None) -> dict:
    return {"desk": {"session_secret_env": SECRET_ENV, "board": [BOARD],
                     "agency_leads": [{"agency": "Example Health", "domains": ["health.example.test"],
                                       "people": [HEALTH_LEAD]},
                                      {"agency": "Example Police", "domains": ["police.example.test"],
                                       "people": [POLICE_LEAD]}],
                     **(extra or {})}}


def fill(h: Harness) -> list[str]:
    """The three cases; the first acknowledged by the other party. Returns their references."""
    for client, raiser, other, category in CASES:
        who = raiser.rpartition("<")[2].rstrip(">")
        h.deliver(mail(who, "Escalation", INTAKE.format(client=client, category=category, raiser=raiser,
                                                        other=other)))
    h.run()
    with h.app.engine.connect() as c:
        refs = [r for (r,) in c.execute(Case.__table__.select().with_only_columns(Case.ref).order_by(Case.id))]
        notice = c.execute(OutboxMail.__table__.select().where(OutboxMail.kind == "notice",
                                                               OutboxMail.recipient == "drew.sample@health.example.test")
                           ).first()
    h.clock.now += timedelta(hours=1)
    h.deliver(mail("drew.sample@health.example.test", f"RE: [{refs[0]}] notice",
                   "ACKNOWLEDGED - looking at the nursery records today.", in_reply_to=notice.message_id))
    h.run()
    return refs


class DeskHarness(Harness):
    """tests.helpers' Harness with the school and the police among the partner agencies (an
    intake naming anyone outside them opens nothing) and the desk's settings."""

    def __init__(self, base, clock, database_url: str | None = None, extra: dict | None = None):
        self.base, self.clock, self._n = base, clock, 0
        cfg = config_from_dict({**desk_config(extra),
            "partnership": {"id": "test", "address": "escalations@partnership.example.test",
                            "business_support": [BUSINESS], "safeguarding_lead": "dsl@partnership.example.test",
                            "partner_domains": [f"{a}.example.test" for a in AGENCIES]},
            "database": {"url": database_url or f"sqlite:///{base / 'cases.db'}", "url_env": ""},
            "inbox": {"kind": "maildir", "path": str(base / "inbox")},
            "outgoing": {"kind": "maildir", "path": str(base / "sent")},
            "security": {"receiving_server": "none"},  # Maildir mail: no receiving server's verdict
        }, base=base)
        self.app = App.from_config(cfg, SystemClock(), now=clock, reader=IN_PROCESS)


AGENCIES = ("partnership", "council", "health", "police", "school")


def desk_harness(tmp_path, clock, monkeypatch, database_url: str | None = None, extra: dict | None = None):
    monkeypatch.setenv(SECRET_ENV, secrets.token_urlsafe(48))
    h = DeskHarness(tmp_path, clock, database_url=database_url, extra=extra)
    return h, desk_for(h.app)


def client(desk) -> TestClient:
    return TestClient(create_app(desk), base_url="http://127.0.0.1:8080", follow_redirects=False)


def csrf(c: TestClient, path: str = "/sign-in") -> str:
    page = c.get(path).text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def signed_in(desk, email: str) -> TestClient:
    """A client signed in through a real one-time link (as the mail would carry it)."""
    from tracker.storage.db import transaction
    from tracker.desk.signin.links import request_link

    c = client(desk)
    with transaction(desk.engine) as s:
        link = request_link(s, desk.partnership, desk.settings, email, desk.clock())
    assert link, f"{email} got no link"
    path = link.removeprefix(desk.settings.base_url)
    r = c.post(path, data={"csrf": csrf(c, path)})
    assert r.status_code == 303 and r.headers["location"] == "/today", r.text[:500]
    return c
