"""Nothing goes outside the partnership, and floods are contained (issue 16, points 4 and 5):
on the embedded default, counting what is opened and what is sent to whom."""
from __future__ import annotations

import email
import email.policy
import itertools
from datetime import timedelta

from sqlmodel import Session, select

from tests.helpers.harness import Harness
from tests.helpers.mail import INTAKE_BODY, OTHER, WORKER, intake, mail
from tracker.storage.models import Case, InboundMessage, OutboxMail

EVE = "eve@evil.example"
SUPPORT = "business@partnership.example.test"


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


def body_of(row: OutboxMail) -> str:
    """The plain text of a sent mail, as its recipient reads it."""
    msg = email.message_from_bytes(row.raw, policy=email.policy.default)
    return msg.get_body(("plain",)).get_content()


def test_an_intake_naming_someone_outside_the_partnership_opens_nothing_and_says_which_line(harness):
    harness.deliver(mail(f"Casey Tester <{WORKER}>", "Escalation",
                         INTAKE_BODY.replace("{risk}", "no").replace(OTHER, EVE)))
    assert harness.run() == (1, 1)
    assert rows(harness, Case) == []
    (answer,) = rows(harness, OutboxMail)
    assert (answer.recipient, answer.kind) == (WORKER, "invalid_intake")
    text = body_of(answer)
    assert "Disagreement with: eve@evil.example is not an address of a partner agency" in text
    assert "early help" not in text.split("has not been opened yet")[0]  # the answer does not echo the case


def test_an_outside_raiser_or_manager_address_is_refused_the_same_way(harness):
    raised_elsewhere = INTAKE_BODY.replace("{risk}", "no").replace(f"<{WORKER}>", "<casey@gmail.example>")
    harness.deliver(mail(f"Casey Tester <{WORKER}>", "Escalation", raised_elsewhere))
    harness.run()
    assert rows(harness, Case) == []
    (answer,) = rows(harness, OutboxMail)
    assert answer.recipient == WORKER and "Raised by: casey@gmail.example" in body_of(answer)
    assert not any(o.recipient.endswith("gmail.example") for o in rows(harness, OutboxMail))


def test_no_letter_about_a_case_reaches_an_outside_address_even_one_already_on_the_case(harness):
    harness.deliver(intake())
    harness.run()
    with Session(harness.app.engine) as s:  # an address that got onto the case somehow (old data, a typo)
        from tracker.storage.models import Party
        other = s.exec(select(Party).where(Party.role == "other_party")).one()
        other.email = EVE
        s.add(other)
        s.commit()
    harness.deliver(mail(f"Casey Tester <{WORKER}>", "RE: [ESC-2026-0001] note", "UPDATE: spoke to the GP"))
    harness.run()
    assert not any(o.recipient == EVE for o in rows(harness, OutboxMail))


_CLIENTS = itertools.count(5000)  # each intake a client of its own: the same one again is no new case


def flood(h, n: int, sender: str = WORKER) -> None:
    for i in range(n):
        h.deliver(mail(f"Casey Tester <{sender}>", f"Escalation {i}",
                       INTAKE_BODY.replace("{risk}", "no").replace("CH-1001-TEST", f"CH-{next(_CLIENTS)}-TEST")))


def test_one_address_opens_at_most_its_daily_cases_then_is_told_once_and_business_support_once(harness):
    flood(harness, 12)
    harness.run()
    assert len(rows(harness, Case)) == 5  # the shipped default
    held = [m for m in rows(harness, InboundMessage) if m.disposition == "quarantine"]
    assert len(held) == 7 and all(m.reason.startswith("flood:") for m in held)
    mails = rows(harness, OutboxMail)
    assert [o.recipient for o in mails if o.kind == "too_many_cases"] == [WORKER]
    assert [o.recipient for o in mails if o.kind == "flood_alert"] == [SUPPORT]
    assert len([o for o in mails if o.kind == "notice"]) == 5  # the other party was not bombed
    flood(harness, 3)
    harness.run()  # more the same day: still nothing opened, nobody told again
    assert len(rows(harness, Case)) == 5
    assert len([o for o in rows(harness, OutboxMail) if o.kind in ("too_many_cases", "flood_alert")]) == 2


def test_the_limit_counts_per_day_per_sender_and_never_limits_replies(harness):
    flood(harness, 6)
    harness.run()
    assert len(rows(harness, Case)) == 5
    harness.deliver(mail(f"Drew Sample <{OTHER}>", "RE: [ESC-2026-0001] x", "ACKNOWLEDGED: looking at it"))
    flood(harness, 1, sender="someone.else@council.example.test")
    harness.run()
    assert any(m.reason.startswith("acknowledged (applied)") for m in rows(harness, InboundMessage))
    assert len(rows(harness, Case)) == 6  # another address has its own limit
    harness.clock.now += timedelta(days=1)
    flood(harness, 2)
    harness.run()
    assert len(rows(harness, Case)) == 8  # a new day, a new count


def test_a_batch_past_the_limit_opens_the_same_cases_as_one_message_at_a_time(tmp_path, clock):
    together, apart = Harness(tmp_path / "together", clock), Harness(tmp_path / "apart", clock)
    for i in range(8):
        raw = mail(f"Casey Tester <{WORKER}>", f"Escalation {i}",
                   INTAKE_BODY.replace("{risk}", "no").replace("CH-1001-TEST", f"CH-{6000 + i}-TEST"))
        together.deliver(raw)
        apart.deliver(raw)
        apart.run()
    together.run()
    assert [c.client_reference for c in rows(together, Case)] == [c.client_reference for c in rows(apart, Case)]
    assert len(rows(together, Case)) == 5
