"""Personal details are held back before anything is sent: an intake or a reply that seems to
identify a child or adult opens nothing and goes to nobody but its sender, who is told what
and how to anonymise it, and may send it again or answer NOT IDENTIFYING. And who sent an
intake is on the record when it is not the raiser it names."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from tests.helpers.mail import MANAGER, OTHER, OTHER_MANAGER, WORKER, intake, mail
from tests.test_service import rows, sent
from tracker.cases import record
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail, Party

IDENTIFYING = (b"Repeated missed health appointments.",
               b"Jamie Robert Smith, DOB 03/04/2019, NHS 999 000 0018, lives at 12 Acacia Avenue, WV1 1AA; "
               b"mum on 07700 900123.")


def text(m) -> str:
    return m.get_body(("plain",)).get_content()


def answer(h, sender: str, words: str, kind: str = "personal_data") -> None:
    held = next(o for o in rows(h, OutboxMail) if o.kind == kind)
    h.clock.now += timedelta(minutes=5)
    h.deliver(mail(sender, "RE: not sent on", words + "\n\n> quoted\n", in_reply_to=held.message_id))


def test_an_identifying_intake_opens_nothing_and_goes_to_nobody_but_its_sender(harness):
    harness.deliver(intake().replace(*IDENTIFYING))
    assert harness.run() == (1, 1)
    assert rows(harness, Case) == [] and rows(harness, Event) == []
    [told] = sent(harness)
    assert told["To"] == WORKER and "[ESC-2026-0001]" in told["Subject"]
    body = text(told)
    for words, what in (("Jamie Robert Smith", "a person's full name"), ("03/04/2019", "a date of birth"),
                        ("999 000 0018", "an NHS number"), ("12 Acacia Avenue", "a street address"),
                        ("07700 900123", "a phone number")):
        assert f"Reasons: “{words}" in body and what in body, words
    assert "NOT IDENTIFYING" in body and "Casey Tester" not in body.split("What you can do")[0]
    [inbound] = rows(harness, InboundMessage)
    assert inbound.held_as == "ESC-2026-0001" and inbound.raw and inbound.case_id is None


def test_the_sender_answers_not_identifying_and_the_case_opens_with_the_answer_on_its_record(harness):
    harness.deliver(intake().replace(*IDENTIFYING))
    harness.run()
    answer(harness, OTHER, "NOT IDENTIFYING")  # someone else's answer releases nothing
    harness.run()
    assert rows(harness, Case) == []
    answer(harness, WORKER, "NOT IDENTIFYING - all invented for the training tenant")
    harness.run()
    [case] = rows(harness, Case)
    assert case.ref == "ESC-2026-0001" and case.status == "open"
    log = rows(harness, Event)
    assert [e.kind for e in log[:2]] == ["opened", "not_identifying"] and log[1].actor == WORKER
    assert "all invented" in log[1].statement and "“Jamie Robert Smith”" in log[1].statement
    assert {m["To"] for m in sent(harness)} >= {WORKER, OTHER}
    with Session(harness.app.engine) as s:
        assert record.verify(s, s.get(Case, case.id)).ok
    assert [m.held_as for m in rows(harness, InboundMessage)] == [None, None, None]


def test_a_corrected_intake_sent_again_opens_the_case(harness):
    harness.deliver(intake().replace(*IDENTIFYING))
    harness.run()
    harness.deliver(intake().replace(IDENTIFYING[0], b"Mum's partner has been seen at the family home."))
    harness.run()
    [case] = rows(harness, Case)
    assert case.ref == "ESC-2026-0002" and {m["To"] for m in sent(harness)} == {WORKER, OTHER}


def test_the_professionals_the_form_names_are_never_flagged(harness):
    body = intake().replace(IDENTIFYING[0], b"Drew Sample declined on 20/11/2026 after Riley Sample agreed; "
                                            b"Casey Tester and Morgan Tester disagree. MASH told on 01902 555392.")
    harness.deliver(body)
    assert harness.run() == (1, 2)
    assert len(rows(harness, Case)) == 1


def test_an_identifying_update_is_held_back_and_forwarded_only_once_answered(harness):
    harness.deliver(intake())
    harness.run()
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    harness.deliver(mail(OTHER, "RE: notice", "UPDATE: spoke to the mother, Kerry Jones, on 07700 900321",
                         in_reply_to=notice.message_id))
    harness.run()
    kinds = [(o.kind, o.recipient) for o in rows(harness, OutboxMail)][2:]
    assert kinds == [("personal_data", OTHER)]  # nothing went to the raiser or the managers
    held = rows(harness, Event)[-2]
    assert held.kind == "held" and held.statement is None and "Kerry" not in held.summary
    told = sent(harness)[-1]
    assert "“Kerry Jones”" in text(told) and "07700 900321" in text(told) and told["To"] == OTHER
    answer(harness, OTHER, "NOT IDENTIFYING: Kerry Jones is the nursery manager")
    harness.run()
    update = [o for o in rows(harness, OutboxMail) if o.kind == "update"]
    assert {o.recipient for o in update} == {WORKER, MANAGER, OTHER_MANAGER}
    log = rows(harness, Event)
    assert [e.kind for e in log if e.kind in ("held", "not_identifying", "update")] == [
        "held", "not_identifying", "update"]
    assert "Kerry Jones, on 07700 900321" in next(e for e in log if e.kind == "update").statement


def test_not_identifying_with_nothing_held_is_answered(harness):
    harness.deliver(intake())
    harness.run()
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    harness.deliver(mail(OTHER, "RE: notice", "NOT IDENTIFYING", in_reply_to=notice.message_id))
    harness.run()
    assert [o.kind for o in rows(harness, OutboxMail)][-1] == "nothing_held"
    assert rows(harness, Case)[0].status == "open"


def test_an_intake_sent_for_someone_else_puts_both_on_the_record_and_tells_both(harness):
    harness.deliver(intake(sender=f"Morgan Tester <{MANAGER}>"))
    harness.run()
    [case] = rows(harness, Case)
    people = {(p.role, p.email) for p in rows(harness, Party)}
    assert ("raiser", WORKER) in people and ("submitter", MANAGER) in people
    opened = rows(harness, Event)[0]
    assert opened.actor == MANAGER and f"sent by {MANAGER} for {WORKER}" in opened.summary
    confirmations = {o.recipient for o in rows(harness, OutboxMail) if o.kind == "confirmation"}
    assert confirmations == {WORKER, MANAGER}
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    harness.deliver(mail(MANAGER, "RE: x", "WITHDRAW", in_reply_to=notice.message_id))  # not the raiser
    harness.run()
    assert rows(harness, Case)[0].status == "open"
    harness.deliver(mail(WORKER, "RE: x", "WITHDRAW - I did not raise this", in_reply_to=notice.message_id))
    harness.run()
    assert rows(harness, Case)[0].status == "withdrawn"


def test_a_reply_records_its_sender_as_the_receiving_server_authenticated_it(tmp_path, clock):
    from tests.helpers.harness import Harness

    h = Harness(tmp_path, clock, extra={"security": {"receiving_server": "self-hosted", "authserv_id": "mx.partnership.example.test"}})
    h.deliver(intake(sender=f"Casey Tester <{WORKER}>").replace(
        b"Subject:", b"Authentication-Results: mx.partnership.example.test; dmarc=pass header.from=council.example.test"
        b"\nSubject:", 1))
    h.run()
    notice = next(o for o in rows(h, OutboxMail) if o.kind == "notice")
    h.deliver(mail(f"Someone Else <{OTHER}>", "RE: x", "ACKNOWLEDGED", in_reply_to=notice.message_id,
                   headers={"Authentication-Results": "mx.partnership.example.test; dmarc=pass header.from=health.example.test"}))
    h.run()
    ack = next(e for e in rows(h, Event) if e.kind == "acknowledged")
    assert ack.actor == OTHER and ack.summary == f"acknowledged from {OTHER} (dmarc=pass for health.example.test)"
    h.app.engine.dispose()


def test_the_resolution_record_digest_and_csv_carry_nothing_of_the_client(harness, tmp_path, capsys):
    """Business support's copies stay anonymised. The client's reference never leaves; the
    digest (text, HTML, its CSV) carries none of the case's words; the Notification of an
    Escalation and the Board's export carry the form's Issue/concern, Record of discussions
    and Outcome, which are read for personal data before they are ever accepted. Fails the
    day a template or a query starts carrying more."""
    from datetime import datetime

    from tests.helpers.harness import LONDON
    from tests.helpers.site import site_config
    from tracker.cli.main import main
    from tracker.digest.weekly import catch_up
    from tracker.storage.db import transaction

    marked = intake().replace(b"CH-1001-TEST", b"ZQREF-1").replace(
        b"Referral for an early help assessment declined.", b"ZQDECISION declined.").replace(
        b"Repeated missed health appointments.", b"ZQREASONS given.").replace(
        b"An early help assessment started.", b"ZQSOUGHT started.")
    harness.deliver(marked)
    harness.run()
    notice = next(o for o in rows(harness, OutboxMail) if o.kind == "notice")
    harness.deliver(mail(OTHER, "RE: notice", "RESOLVED: assessment booked", in_reply_to=notice.message_id))
    harness.run()
    harness.clock.now = datetime(2026, 11, 30, 9, tzinfo=LONDON)
    with transaction(harness.app.engine) as s:
        catch_up(s, harness.app.context())
    harness.run()
    business = {m["Subject"].split("] ")[-1][:12]: m.as_string() for m in sent(harness)
                if m["To"] == "business@partnership.example.test"}
    assert set(business) == {"Notification", "Safeguarding"}
    config = tmp_path / "config.toml"
    config.write_text(site_config(harness.base, url=harness.app.config.database_url, heartbeat=False, security=False))
    csv_file, html_file = tmp_path / "out.csv", tmp_path / "digest.html"
    assert main(["--config", str(config), "export", "--csv", str(csv_file)]) == 0
    assert main(["--config", str(config), "digest", "--week", "2026-W48", "--html", str(html_file)]) == 0
    digests = [business["Safeguarding"], html_file.read_text(), capsys.readouterr().out]
    forms = [business["Notification"], csv_file.read_text(encoding="utf-8-sig")]
    assert all("ESC-2026-0001" in o for o in digests + forms)
    for o in digests:  # the words whole: the digest's chart is base64, where any two letters turn up
        assert not [w for w in ("ZQREF", "ZQDECISION", "ZQREASONS", "ZQSOUGHT") if w in o], o[:300]
    for o in forms:
        assert "ZQREF" not in o and "ZQREASONS" not in o and "ZQSOUGHT" not in o, o[:300]
    assert csv_file.stat().st_mode & 0o777 == 0o600 and html_file.stat().st_mode & 0o777 == 0o600


def test_a_held_message_never_answered_loses_its_words_after_a_month(harness):
    from tracker.cases.retention import HELD_DAYS

    harness.deliver(intake().replace(*IDENTIFYING))
    harness.run()
    harness.clock.now += timedelta(days=HELD_DAYS - 1)
    harness.app.purge()
    assert rows(harness, InboundMessage)[0].raw is not None
    harness.clock.now += timedelta(days=2)
    harness.app.purge()
    [held] = rows(harness, InboundMessage)
    assert (held.raw, held.held_as) == (None, None)
    answer(harness, WORKER, "NOT IDENTIFYING")
    harness.run()
    assert rows(harness, Case) == []
