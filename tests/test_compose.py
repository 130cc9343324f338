"""Mail bytes written by mailer/compose.py, held against the email package's own MIME
classes and generator (compat32) building the same parts: the same bytes, except that a
long header may be folded at other spaces (compat32 prefers a comma or a semicolon)."""
from __future__ import annotations

from datetime import datetime, timezone
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
import binascii
import re

from hypothesis import example, given, settings, strategies as st

from mailer import compose
from mailer.compose import Attachment, Composer, Envelope


def reference(subject: str, text: str, html: str, env: Envelope) -> bytes:
    """The same mail built by the email package, as the service built it before."""
    def words(w: str, subtype: str) -> MIMENonMultipart:
        part = MIMENonMultipart("text", subtype, charset="utf-8")
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(binascii.b2a_qp(w.encode("utf-8"), istext=True).decode("ascii"))
        return part

    def attachment(a: Attachment) -> MIMEBase:
        part = MIMEBase(*a.content_type.split("/", 1))
        part.set_payload(a.data)
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", "attachment", filename=compose.header_safe(a.filename))
        return part

    body = MIMEMultipart("alternative", compose._boundary(env, "alt"), [words(text, "plain"), words(html, "html")])
    msg = MIMEMultipart("mixed", compose._boundary(env, "mix"), [body, *map(attachment, env.attachments)]) \
        if env.attachments else body
    for name, value in compose._headers(subject, env):
        msg[name] = value
    return msg.as_bytes(policy=compat32)


class Fixed(Composer):
    """The composer with its templates' output given, so the test chooses every word."""

    def __init__(self, subject: str, text: str, html: str):
        self.words = (subject, text, html)

    def render(self, kind, values):
        return self.words


def envelope(name: str = "Safeguarding Partnership escalations", references=(), attachments=()) -> Envelope:
    return Envelope(sender="escalations@partnership.example.test", sender_name=name, to="drew.sample@health.example.test",
                    message_id="ESC-2026-0001.notice.b879ce17dd809cb0@partnership.example.test",
                    date=datetime(2026, 11, 23, 10, tzinfo=timezone.utc), marker="test",
                    in_reply_to=references[-1] if references else None, references=references, attachments=attachments)


CALENDAR = Attachment("ESC-2026-0001-stage-1-due.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" * 20)


def test_the_mail_a_notice_is_written_as_the_email_package_writes_it():
    cases = [
        ("[ESC-2026-0001] Professional disagreement raised with you: please respond by Monday 30 November 2026, 17:00",
         "Dear Drew,\n\nPlease reply ACKNOWLEDGED.\n" * 5, "<p>Dear Drew,</p>\n" * 5, envelope(attachments=(CALENDAR,))),
        ("Réponse: ünïcode in the subject, long enough to need folding across more than one line",
         "Wörds\r\nwith every\rkind of line end\n=equals= and trailing space \n", "<p>é</p>",
         envelope("Pärtnership Éscalations", ("a@x",) * 12)),
        ("Short", "", "", envelope(attachments=(Attachment('we"ird\\name.html', "text/html", b"<html>" * 200),
                                                Attachment("résumé.txt", "text/plain", b"x")))),
    ]
    for subject, text, html, env in cases:
        assert Fixed(subject, text, html).compose("notice", {}, env) == reference(subject, text, html, env)


ascii_words = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30)


def unfolded(raw: bytes) -> bytes:
    return re.sub(rb"\n(?=[ \t])", b"", raw)


@settings(max_examples=300, deadline=None)
@example(subject="", name="00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80𐀀𐀀𐀀𐀀𐀀𐀀", references=[], text="")  # a long encoded word
@given(subject=st.lists(ascii_words, max_size=20).map(" ".join) | st.text(max_size=120),
       name=st.lists(ascii_words, max_size=8).map(" ".join) | st.text(max_size=60),
       references=st.lists(st.from_regex(r"[a-z0-9.\-]{1,40}@[a-z]{1,20}\.test", fullmatch=True), max_size=6),
       text=st.text(max_size=300))
def test_any_words_and_headers_make_the_mail_the_email_package_makes(subject, name, references, text):
    subject, name = compose.header_safe(subject, 250), compose.header_safe(name)
    env = envelope(name, tuple(references), (CALENDAR,) if len(references) % 2 else ())
    ours = Fixed(subject, text, text).compose("notice", {}, env)
    assert unfolded(ours) == unfolded(reference(subject, text, text, env))
    for line in ours.split(b"\n\n", 1)[0].decode("ascii").split("\n"):  # within 78 unless one long word
        assert len(line) <= 78 or len(line.split(": ", 1)[-1].split()) == 1 or line.startswith(" ") and \
            len(line.split()) == 1, line


def test_a_header_is_folded_only_at_its_spaces_and_never_leaves_a_blank_line():
    folded = compose._fold("Subject", "word " * 30 + " two  spaces " + "x" * 90).decode()
    lines = folded.splitlines()
    assert all(line.strip() for line in lines) and lines[0].startswith("Subject: word")
    assert all(len(line) <= 78 for line in lines[:-1]) and lines[-1] == " " + "x" * 90
    assert "".join(folded.split("\n")) == "Subject: " + "word " * 30 + " two  spaces " + "x" * 90
