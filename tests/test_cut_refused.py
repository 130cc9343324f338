"""A message the parser read only in part is refused, never acted on (security review F5).

An invoice.exe placed after 5,000 "--" lines, 300,000 lines, 5,000 blank-line pairs or 5 MB
of padding was cut off before MIME parsing (parser/caps.py), and the rest was applied as an
UPDATE with the raw message, .exe included, stored. Now such a message is quarantined as
"cut", its partner-domain sender told what was wrong and how to send it instead; nothing of
the case changes and the raw message is not kept as applied. Honest mail just under each
cap is handled as before."""
from __future__ import annotations

import email
import email.policy

import pytest
from sqlmodel import Session, select

from tests.helpers.cut_mail import PAST, UNDER, head, update
from tests.helpers.harness import Harness
from tests.helpers.mail import OTHER, WORKER, intake
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail


@pytest.fixture
def harness(tmp_path, clock, database_url):
    """Attachments allowed up to 20 MB, so a message past the parser's 16 MB is not already
    too large at the door (the shipped 10 MB keeps every message under what it reads)."""
    h = Harness(tmp_path, clock, database_url=database_url, extra={"security": {"max_attachment_bytes": 20_000_000}})
    yield h
    h.app.engine.dispose()


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


def plain(row: OutboxMail) -> str:
    return email.message_from_bytes(row.raw, policy=email.policy.default).get_body(("plain",)).get_content()


def state(h):
    """What a message may change: the cases, their record, and the mail sent."""
    cases = [(c.ref, c.stage, c.status, c.stage_due_at, c.clock_stopped_at) for c in rows(h, Case)]
    return cases, [(e.kind, e.summary) for e in rows(h, Event)], len(rows(h, OutboxMail))


def opened(h) -> str:
    """A case opened by an intake; the Message-ID of its notice to the other party."""
    h.deliver(intake())
    h.run()
    return next(o for o in rows(h, OutboxMail) if o.kind == "notice" and o.recipient == OTHER).message_id


def party_update(h, notice: str, filler: bytes, pad: bytes, exe: bool = True, **part) -> bytes:
    top = head(sender=f"Drew Sample <{OTHER}>", subject="RE: case", in_reply_to=notice, n=len(rows(h, InboundMessage)))
    return update(filler, pad, exe=exe, top=top, **part)


@pytest.mark.parametrize("shape", PAST)
def test_a_partys_update_with_an_exe_past_a_cap_is_refused_answered_and_changes_nothing(harness, shape):
    notice = opened(harness)
    before = state(harness)
    sent = before[2]
    harness.deliver(party_update(harness, notice, *PAST[shape]))
    harness.run()
    row = rows(harness, InboundMessage)[-1]
    assert (row.disposition, row.reason.split(":")[0], row.raw) == ("quarantine", "cut", None)
    assert row.reason.endswith("sender told")
    (answer,) = rows(harness, OutboxMail)[sent:]
    assert (answer.kind, answer.recipient) == ("not_accepted", OTHER)
    text = " ".join(plain(answer).split())
    assert "too long or too complex for the service to read in full" in text and "on case ESC-2026-0001" in text
    assert "send it again shorter" in text and "as one .docx attachment" in text
    assert state(harness)[:2] == before[:2]  # no case moved, nothing on any record


def test_a_cut_intake_opens_no_case_and_its_sender_is_told(harness):
    filler, _ = PAST["lines"]
    raw = head(sender=f"Casey Tester <{WORKER}>", subject="Escalation: early help declined") \
        + b"--Q\r\nContent-Type: text/plain\r\n\r\n" + intake().split(b"\n\n", 1)[1] + filler + b"--Q--\r\n"
    harness.deliver(raw)
    harness.run()
    assert rows(harness, InboundMessage)[-1].reason.startswith("cut:")
    assert [(o.kind, o.recipient) for o in rows(harness, OutboxMail)] == [("not_accepted", WORKER)]
    assert rows(harness, Case) == []


def test_a_cut_message_from_outside_the_partnership_is_answered_to_no_one(harness):
    filler, _ = PAST["separators"]
    harness.deliver(update(filler, top=head(sender="Eve <eve@evil.example>")))
    harness.run()
    assert rows(harness, InboundMessage)[-1].reason.startswith("outside_partners")
    assert rows(harness, OutboxMail) == []


@pytest.mark.parametrize("shape", UNDER)
def test_an_honest_update_just_under_a_cap_is_applied(harness, shape):
    notice = opened(harness)
    filler, pad = UNDER[shape]
    harness.deliver(party_update(harness, notice, filler, pad, exe=False, pad_type=b"application/pdf",
                                 pad_name=b"report.pdf"))
    harness.run()
    row = rows(harness, InboundMessage)[-1]
    assert (row.disposition, row.reason) == ("processed", "update (applied) on ESC-2026-0001")
    assert row.raw is not None
    assert [e.kind for e in rows(harness, Event)].count("update") == 1


@pytest.mark.parametrize("shape", UNDER)
def test_an_exe_just_under_a_cap_is_seen_and_refused_as_an_attachment(harness, shape):
    notice = opened(harness)
    harness.deliver(party_update(harness, notice, *UNDER[shape]))
    harness.run()
    assert rows(harness, InboundMessage)[-1].reason.startswith("attachment")
    assert "update" not in [e.kind for e in rows(harness, Event)]
