"""What is refused or stripped at the edge (issue 16, point 6): attachments judged by content
type and by the name as a file system would end up with it, answered to a partner-domain
sender with what was refused; and no control character in anything stored, on SQLite and
PostgreSQL (which refuses a NUL outright)."""
from __future__ import annotations

import email
import email.policy
import re

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from tests.helpers.mail import OTHER, WORKER, intake, mail
from tracker.storage.models import Case, InboundMessage, OutboxMail

HEAD = (f"From: Casey Tester <{WORKER}>\r\nTo: escalations@partnership.example.test\r\n"
        "Subject: Escalation form attached\r\nMessage-ID: <{n}@council.example.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        "Please see the attached form.\r\n--b\r\n")


def with_part(part_headers: bytes, n: int, sender: str | None = None) -> bytes:
    raw = HEAD.format(n=n).encode() + part_headers + b"\r\n\r\nUEsDBAoAAAAAAA==\r\n--b--\r\n"
    return raw.replace(WORKER.encode(), sender.encode()) if sender else raw


B64 = b"Content-Transfer-Encoding: base64\r\n"
REFUSED = {  # part headers -> what the answer must name
    "a trailing dot": (b'Content-Type: application/octet-stream\r\n' + B64 +
                       b'Content-Disposition: attachment; filename="evil.zip."', "evil.zip."),
    "trailing spaces": (b'Content-Type: application/pdf\r\n' + B64 +
                        b'Content-Disposition: attachment; filename="evil.exe  "', "evil.exe"),
    "a NUL before .pdf (RFC 2231)": (b"Content-Type: application/pdf\r\n" + B64 +
                                     b"Content-Disposition: attachment; filename*=utf-8''evil.exe%00.pdf", "evil.exe"),
    "a raw NUL before .pdf": (b"Content-Type: application/pdf\r\n" + B64 +
                              b'Content-Disposition: attachment; filename="evil.exe\x00.pdf"', "evil.exe"),
    "fullwidth letters": (b"Content-Type: application/pdf\r\n" + B64 +
                          b"Content-Disposition: attachment; filename*=utf-8''%EF%BD%85vil.%EF%BD%85xe", ".exe"),
    "an unnamed application/zip": (b"Content-Type: application/zip\r\n" + B64.rstrip(), "application/zip"),
    "a zip named .pdf": (b'Content-Type: application/x-zip-compressed\r\n' + B64 +
                         b'Content-Disposition: attachment; filename="form.pdf"', "application/x-zip-compressed"),
}


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


def plain(row: OutboxMail) -> str:
    return email.message_from_bytes(row.raw, policy=email.policy.default).get_body(("plain",)).get_content()


@pytest.mark.parametrize("part, named", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_attachment_is_quarantined_and_its_partner_sender_told_what_and_how(harness, part, named):
    harness.deliver(with_part(part, 1))
    assert harness.run() == (1, 1)
    (row,) = rows(harness, InboundMessage)
    assert row.disposition == "quarantine" and row.reason.startswith("attachment")
    (answer,) = rows(harness, OutboxMail)
    assert (answer.kind, answer.recipient) == ("not_accepted", WORKER)
    text = plain(answer)
    assert "was not opened" in text and named in text and "send it again without that attachment" in text
    assert rows(harness, Case) == []


def test_a_refused_attachment_from_outside_the_partnership_is_answered_to_no_one(harness):
    harness.deliver(with_part(REFUSED["a trailing dot"][0], 2, sender="eve@evil.example"))
    assert harness.run() == (1, 0)
    assert rows(harness, InboundMessage)[0].reason.startswith("outside_partners")


def test_an_html_page_named_to_pass_as_one_is_refused_even_on_a_reply(harness):
    harness.deliver(intake())
    harness.run()
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    raw = with_part(b"Content-Type: text/html\r\n" + B64 +
                    b"Content-Disposition: attachment; filename*=utf-8''notes.exe%00.html", 3, sender=OTHER)
    raw = raw.replace(b"Subject: Escalation form attached", b"Subject: RE: case\r\nIn-Reply-To: <"
                      + notice.message_id.encode() + b">").replace(b"Please see the attached form.", b"UPDATE: notes")
    harness.deliver(raw)
    harness.run()
    assert rows(harness, InboundMessage)[-1].reason.startswith("attachment")


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def stored_text(h) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text value stored that holds a control character."""
    found = []
    with h.app.engine.connect() as c:
        for table in SQLModel.metadata.sorted_tables:
            columns = [col for col in table.columns if isinstance(col.type, (sa.String, sa.Text, sa.JSON))]
            for row in c.execute(sa.select(*columns)) if columns else ():
                for col, value in zip(columns, row):
                    found += [(table.name, col.name, text[:80]) for text in strings(value) if CONTROL.search(text)]
    return found


def strings(value) -> list[str]:
    """Every text inside a stored value (JSON columns hold dicts and lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in strings(k) + strings(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in strings(v)]
    return []


def test_no_control_character_reaches_what_is_stored(harness):
    dirty = (intake().replace(b"Repeated missed health appointments.",
                              b"Repeated\x00 missed\x1b[31m appointments\xe2\x80\xae\x07.")
             .replace(b"Referral for an early help", b"Referral\x00 for an\x1b]0;pwned\x07 early help")
             .replace(b"Subject: Escalation", b"Subject: =?utf-8?q?Escalation=00=1B=5B2J?="))
    harness.deliver(dirty)
    assert harness.run() == (1, 2)
    (case,) = rows(harness, Case)
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    harness.deliver(mail(f"Drew Sample <{OTHER}>", "RE: case", "UPDATE: spoke to the GP", in_reply_to=notice.message_id)
                    .replace(b"spoke to the GP", b"spoke\x00 to the\x1b[2J GP\x9b\xe2\x80\xae"))
    harness.run()
    assert rows(harness, InboundMessage)[-1].reason.startswith("update (applied)")
    assert stored_text(harness) == []
    assert case.reasons.startswith("Repeated missed") and case.decision_disputed.startswith("Referral for an")
