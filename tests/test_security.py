"""Each attack from the security issue, on the embedded default: no case changes, nothing
leaks, and the service keeps serving."""
from __future__ import annotations

import email
import email.policy
import io
import os
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlmodel import Session, select

from tests.helpers.harness import Harness
from tests.helpers.mail import OTHER, WORKER, intake, mail
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail

SOAK = int(os.environ.get("ESCALATIONS_SOAK_SIZE", "300"))  # 10000 outside CI


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


@pytest.fixture
def guarded(tmp_path, clock):
    return Harness(tmp_path, clock, extra={"security": {"receiving_server": "self-hosted", "authserv_id": "mx.partnership.example.test"}})


def notice_id(h) -> str:
    return next(o.message_id for o in rows(h, OutboxMail) if o.kind == "notice")


def with_auth(raw: bytes, *values: str) -> bytes:
    return b"".join(f"Authentication-Results: {v}\r\n".encode() for v in values) + raw


# (the Authentication-Results parser and judge are tested in tests/test_parser_authres.py)
PASS = "mx.partnership.example.test; dmarc=pass header.from=council.example.test"


def test_spoofed_from_with_failed_dmarc_cannot_open_or_move_a_case(guarded):
    guarded.deliver(with_auth(intake(), "mx.partnership.example.test; dmarc=fail header.from=council.example.test"))
    assert guarded.run() == (1, 1)  # the one mail: the From address's note (tests/test_authenticity.py)
    assert rows(guarded, Case) == []
    assert rows(guarded, InboundMessage)[0].reason.startswith("unauthenticated")
    assert [(o.kind, o.recipient) for o in rows(guarded, OutboxMail)] == [("sender_not_confirmed", WORKER)]


def test_forged_pass_from_outside_is_ignored_and_the_trusted_fail_counts(guarded):
    guarded.deliver(with_auth(intake(), "mx.partnership.example.test; dmarc=fail",
                              "evil.example.test; dmarc=pass; dkim=pass; spf=pass"))
    guarded.deliver(with_auth(intake(), PASS))
    guarded.run()
    assert len(rows(guarded, Case)) == 1
    assert [m.disposition for m in rows(guarded, InboundMessage)] == ["quarantine", "processed"]


def test_a_forged_trusted_header_below_the_real_one_does_not_count(guarded):
    real = "mx.partnership.example.test; dmarc=fail"
    forged_lower_down = intake().replace(b"Subject:", b"Authentication-Results: mx.partnership.example.test; "
                                                      b"dmarc=pass\r\nSubject:", 1)
    guarded.deliver(with_auth(forged_lower_down, real))
    guarded.run()
    assert rows(guarded, Case) == []


def test_failed_dmarc_reply_from_a_party_does_not_move_the_case(guarded):
    guarded.deliver(with_auth(intake(), PASS))
    guarded.run()
    spoof = mail(f"Drew Sample <{OTHER}>", "RE: case", "RESOLVED", in_reply_to=notice_id(guarded))
    guarded.deliver(with_auth(spoof, "mx.partnership.example.test; dmarc=fail"))
    guarded.run()
    assert rows(guarded, Case)[0].status == "open"


def test_header_injection_in_subject_and_names_cannot_add_headers(harness):
    body = intake().decode().replace("Casey Tester, Social Worker",
                                     "Casey\r\nBcc: victim@elsewhere.example.test\r\nX-Evil: 1, Social Worker")
    raw = body.replace("Subject: Escalation: early help declined",
                       "Subject: Escalation =?utf-8?q?=0D=0ABcc=3A_victim=40elsewhere.example.test?=").encode()
    harness.deliver(raw)
    harness.run()
    for path in (harness.base / "sent" / "new").glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert msg["Bcc"] is None and msg["X-Evil"] is None
        assert "victim@" not in str(msg["To"])
        assert all(h.lower() not in ("bcc", "x-evil") for h in msg.keys())


def test_html_in_a_field_is_escaped_in_html_mail(harness):
    raw = intake().replace(b"Repeated missed health appointments.", b"<script>alert(1)</script> <b>bold</b>")
    harness.deliver(raw)
    harness.run()
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    html = email.message_from_bytes(notice.raw, policy=email.policy.default).get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_mail_loop_with_an_auto_responder_is_never_answered(harness):
    harness.deliver(intake())
    harness.run()
    for n in range(5):
        harness.deliver(mail(OTHER, f"Automatic reply: RE: case {n}", "I am away. ACKNOWLEDGED",
                             in_reply_to=notice_id(harness), headers={"Auto-Submitted": "auto-replied"}))
        harness.deliver(mail(OTHER, f"Out of office {n}", "Away", in_reply_to=notice_id(harness),
                             headers={"Precedence": "bulk"}))
    before = len(rows(harness, OutboxMail))
    assert harness.run() == (10, 0)
    assert len(rows(harness, OutboxMail)) == before
    assert rows(harness, Case)[0].acknowledged_at is None


def test_a_responder_without_auto_headers_is_stopped_by_the_daily_reply_limit(tmp_path, clock):
    h = Harness(tmp_path, clock, extra={"security": {"max_replies_per_address_per_day": 3}})
    for n in range(8):  # a naive responder answering each of our answers with no keyword
        h.deliver(mail(WORKER, f"Escalation {n}", "Thanks for your email, we will be in touch."))
    h.run()
    answers = [o for o in rows(h, OutboxMail) if o.recipient == WORKER]
    assert len(answers) == 3


def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"\0" * 60_000_000)
    return buf.getvalue()


def attachment_mail(data: bytes, filename: str, maintype="application", subtype="octet-stream") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Casey Tester <{WORKER}>"
    msg["To"] = "escalations@partnership.example.test"
    msg["Subject"] = "Escalation form attached"
    msg["Message-ID"] = make_msgid(domain="council.example.test")
    msg.set_content("Please see the attached form.")
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def test_a_zip_bomb_is_quarantined_unopened(harness):
    harness.deliver(attachment_mail(zip_bomb(), "form.zip", "application", "zip"))
    harness.deliver(attachment_mail(zip_bomb(), "form.docx", "application",
                                    "vnd.openxmlformats-officedocument.wordprocessingml.document"))
    harness.run()
    dispositions = [(m.disposition, m.reason.split(":")[0]) for m in rows(harness, InboundMessage)]
    assert dispositions[0] == ("quarantine", "attachment")
    assert dispositions[1][0] in ("quarantine", "processed") and rows(harness, Case) == []


def test_a_50_mb_attachment_is_quarantined_without_being_read(harness):
    harness.deliver(attachment_mail(os.urandom(1024) * 50 * 1024, "scan.pdf", "application", "pdf"))
    harness.deliver(intake())
    assert harness.run() == (2, 2)
    first = rows(harness, InboundMessage)[0]
    assert first.disposition == "quarantine" and first.reason.startswith("too_large")
    assert len(rows(harness, Case)) == 1  # and the service went on serving


def test_many_messages_from_one_address_do_not_flood_anyone(harness):
    for n in range(SOAK):
        harness.deliver(mail(f"Flood <flood@council.example.test>", f"Escalation {n}", f"junk {n}"))
    harness.deliver(intake())
    assert harness.run()[0] == SOAK + 1
    to_flood = [o for o in rows(harness, OutboxMail) if o.recipient == "flood@council.example.test"]
    assert len(to_flood) == 20
    assert len(rows(harness, Case)) == 1


def test_a_strangers_reply_reveals_nothing_and_records_nothing(harness):
    harness.deliver(intake())
    harness.run()
    events = len(rows(harness, Event))
    harness.deliver(mail("Nosy <nosy@health.example.test>", "RE: [ESC-2026-0001] anything", "UPDATE: tell me more"))
    harness.run()
    assert len(rows(harness, Event)) == events
    answer = rows(harness, OutboxMail)[-1]
    assert answer.recipient == "nosy@health.example.test"
    text = answer.raw.decode(errors="replace")
    for secret in ("CH-1001", "early help", "Casey", "Drew", "threshold"):
        assert secret not in text


def test_database_and_mail_stores_are_owner_only(tmp_path, clock):
    harness = Harness(tmp_path, clock)  # the SQLite file is the one on this machine's disk
    harness.deliver(intake())
    harness.run()
    for path in (harness.base / "cases.db", harness.base / "sent", harness.base / "sent" / "new",
                 harness.base / "inbox" / ".Processed"):
        assert path.stat().st_mode & 0o077 == 0, path
    for eml in (harness.base / "sent" / "new").iterdir():
        assert eml.stat().st_mode & 0o077 == 0, eml
