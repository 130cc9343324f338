"""The case record covers the case (CONTRACT.md §5): the database edited by hand in every way
an entry or a case can be changed, each then verified; the same after every hash is
recomputed, which only the heads that left by mail catch; and a case whose record does
not verify is not acted on."""
from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.helpers.mail import OTHER, intake, mail
from tests.helpers.site import site_config
from tracker.cases import record, snapshot
from tracker.cli.main import main
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail, Party

REF = "ESC-2026-0001"


def sent(h) -> list[tuple[str, email.message.EmailMessage]]:
    return [(str(p), email.message_from_bytes(p.read_bytes(), policy=email.policy.default))
            for p in sorted((h.base / "sent" / "new").glob("*.eml"))]


def acknowledged_case(h) -> None:
    """Opened, then acknowledged by the other party: 5 entries (opened, 2 letters queued,
    acknowledged, 1 letter queued)."""
    h.deliver(intake())
    h.run()
    with Session(h.app.engine) as s:
        notice = s.exec(select(OutboxMail.message_id).where(OutboxMail.kind == "notice")).one()
    h.clock.now += timedelta(minutes=10)
    h.deliver(mail(OTHER, "RE: notice", "ACKNOWLEDGED - looking at it", in_reply_to=notice))
    h.run()


def cli(h, capsys, *args) -> tuple[int, str]:
    config = h.base / "config.toml"
    config.write_text(site_config(h.base, url=h.app.config.database_url, heartbeat=False, security=False))
    code = main(["--config", str(config), "case", REF, *args])
    out = capsys.readouterr()
    return code, (out.out + out.err).strip()


def sql(h, *statements: str) -> None:
    with h.app.engine.begin() as c:
        for statement in statements:
            c.execute(sa.text(statement))


COPY = ("INSERT INTO event (case_id, seq, at, kind, actor, stage, summary, statement, statement_hash, inbound_id, "
        "outbox_id, prev_hash, hash, state_hash, state) SELECT case_id, {seq}, at, kind, actor, stage, 'inserted', "
        "statement, statement_hash, inbound_id, outbox_id, prev_hash, hash, state_hash, state FROM event WHERE seq = 2")
# (what is done to the database, what --verify must name)
TAMPERING = {
    "an entry's words": (["UPDATE event SET summary = 'nothing happened' WHERE seq = 1"], "entry 1 (opened"),
    "an entry's time": (["UPDATE event SET at = at - INTERVAL '1 day' WHERE seq = 4",
                         "UPDATE event SET at = datetime(at, '-1 day') WHERE seq = 4"], "entry 4 (acknowledged"),
    "an entry's actor": (["UPDATE event SET actor = 'someone@health.example.test' WHERE seq = 4"], "entry 4"),
    "a statement": (["UPDATE event SET statement = 'we agreed to close it' WHERE seq = 4"], "its statement"),
    "an entry inserted in the middle": (["UPDATE event SET seq = seq + 100 WHERE seq >= 3",
                                         "UPDATE event SET seq = seq - 99 WHERE seq >= 100", COPY.format(seq=3)],
                                        "entry 3"),
    "an entry added at the end": ([COPY.format(seq=6)], "entry 6"),
    "an entry removed": (["DELETE FROM event WHERE seq = 2"], "entry 2 is missing"),
    "the last entry removed": (["DELETE FROM event WHERE seq = 5"], "the record ends at entry 4, but 5 were written"),
    "every entry removed": (["DELETE FROM event"], "the record has no entries, but 5 were written"),
    "the pointer to the head": (['UPDATE "case" SET record_seq = 4'], "the record has 5 entries, but 4 were written"),
    "the stage": (['UPDATE "case" SET stage = \'3\''], "stage (the record says '1', the case has '3')"),
    "the status": (['UPDATE "case" SET status = \'resolved\''], "status (the record says 'open'"),
    "the category": (['UPDATE "case" SET category = \'other\''], "category (the record says"),
    "the decision disputed": (['UPDATE "case" SET decision_disputed = \'nothing\''], "decision_disputed (its text"),
    "the outcome": (['UPDATE "case" SET outcome = \'agreed\''], "outcome (its text"),
    "a deadline": (['UPDATE "case" SET stage_due_at = stage_due_at + INTERVAL \'30 days\'',
                    'UPDATE "case" SET stage_due_at = datetime(stage_due_at, \'+30 days\')'], "stage_due_at"),
    "a party's email": (["UPDATE party SET email = 'eve@health.example.test' WHERE role = 'other_party'"],
                        "added other_party eve@health.example.test, removed other_party drew.sample@"),
    "a party added": (["INSERT INTO party (case_id, role, side, email) VALUES (1, 'other_party', 'other', "
                       "'eve@health.example.test')"], "parties changed outside the record: added other_party eve@"),
    "a party removed": (["DELETE FROM party WHERE role = 'other_manager'"], "removed other_manager riley.sample@"),
    "a party's name": (["UPDATE party SET name = 'Someone Else' WHERE role = 'raiser'"], "removed raiser casey"),
}


def _for(h, statements: list[str]) -> list[str]:
    """Statements in the dialect at hand: date arithmetic is written once for each."""
    pg = h.app.engine.dialect.name == "postgresql"
    return [s for s in statements if not (("INTERVAL" in s and not pg) or ("datetime(" in s and pg))]


@pytest.mark.parametrize("what", list(TAMPERING))
def test_every_change_made_outside_the_record_is_reported(harness, capsys, what):
    acknowledged_case(harness)
    assert cli(harness, capsys, "--verify") == (0, f"{REF}: record intact ({_head(harness)})")
    statements, named = TAMPERING[what]
    sql(harness, *_for(harness, statements))
    code, line = cli(harness, capsys, "--verify")
    assert code == 1 and line.startswith(f"RECORD ALTERED: {REF}: ") and "\n" not in line
    assert named in line, line


def _head(h) -> str:
    with Session(h.app.engine) as s:
        case = s.exec(select(Case)).one()
        return record.head_text(case.ref, case.record_seq, case.record_head)


def test_an_altered_case_exports_as_altered_and_is_written_for_its_owner_alone(harness, capsys, tmp_path):
    acknowledged_case(harness)
    out = tmp_path / "record.html"
    out.write_text("left by someone")
    out.chmod(0o644)
    assert cli(harness, capsys, "--export", str(out))[0] == 0
    assert out.stat().st_mode & 0o777 == 0o600 and "intact" in out.read_text()
    sql(harness, 'UPDATE "case" SET stage = \'3\'')
    assert cli(harness, capsys, "--export", str(out))[0] == 0
    text = out.read_text()
    assert text.index("RECORD ALTERED: case values changed outside the record: stage") < text.index("<h1>")
    assert "intact" not in text


def test_a_case_whose_record_does_not_verify_changes_nothing_and_business_support_is_told(harness):
    acknowledged_case(harness)
    sql(harness, "UPDATE party SET email = 'eve@health.example.test' WHERE role = 'other_party'")
    with Session(harness.app.engine) as s:
        notice = s.exec(select(OutboxMail.message_id).where(OutboxMail.kind == "notice")).one()
        before = (s.exec(select(Case)).one().model_dump(), len(s.exec(select(Event)).all()))
    for _ in range(2):  # the stranger written into the database as the other party tries to resolve it
        harness.deliver(mail("eve@health.example.test", "RE: notice", "RESOLVED - closed", in_reply_to=notice))
    harness.clock.now += timedelta(days=30)  # and its deadline passes
    harness.run()
    with Session(harness.app.engine) as s:
        assert (s.exec(select(Case)).one().model_dump(), len(s.exec(select(Event)).all())) == before
        told = s.exec(select(OutboxMail).where(OutboxMail.kind == "record_altered")).all()
        inbound = s.exec(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
    assert [o.recipient for o in told] == ["business@partnership.example.test"]  # once for what was found
    assert inbound.disposition == "quarantine" and "does not verify" in inbound.reason and inbound.raw
    letters = [m for _, m in sent(harness) if m["To"] == "business@partnership.example.test"]
    body = letters[-1].get_body(("plain",)).get_content()
    assert "RECORD ALTERED: parties changed outside the record" in body and "eve@health.example.test" in body
    assert not [m for _, m in sent(harness) if m["To"] == "eve@health.example.test"]


# -- someone who rewrites the database and recomputes every hash -------------------------------

def rewrite(h, change) -> None:
    """What a careful forger does: change the case (`change(session, case)`), write the case
    as it now is into the record's last state, and recompute every hash and the pointer, so
    that the database alone agrees with itself."""
    with Session(h.app.engine) as s:
        case = s.exec(select(Case)).one()
        change(s, case)
        s.flush()
        log = record.events(s, case)
        people = s.exec(select(Party).where(Party.case_id == case.id)).all()
        last = max(e.seq for e in log if e.state is not None)
        prev, held = record.GENESIS, None
        for e in log:
            if e.seq == last:
                e.state = snapshot.dumps(snapshot.snapshot(case, people))
            held = e.state_hash = snapshot.state_hash(e.state) if e.state is not None else held
            e.prev_hash = prev
            e.hash = prev = record._digest(prev, case.ref, e)
            s.add(e)
        case.record_seq, case.record_head = len(log), prev
        s.add(case)
        s.commit()


def _mails(h) -> dict[str, str]:
    """Saved mails by kind (the outbox knows which file is which by Message-ID)."""
    with Session(h.app.engine) as s:
        kinds = {f"<{o.message_id}>": o.kind for o in s.exec(select(OutboxMail))}
    return {kinds[m["Message-ID"]]: path for path, m in sent(h)}


def test_a_rewritten_record_agrees_with_itself_but_not_with_the_mail_people_hold(harness, capsys):
    acknowledged_case(harness)
    mails = _mails(harness)
    assert cli(harness, capsys, "--verify", "--against", mails["acknowledged"])[0] == 0

    def soften(s, case):
        case.decision_disputed = "Nothing much."
        s.add(case)

    rewrite(harness, soften)
    assert cli(harness, capsys, "--verify")[0] == 0  # the database alone cannot tell
    code, line = cli(harness, capsys, "--verify", "--against", mails["acknowledged"])
    assert code == 1 and line.startswith(f"RECORD ALTERED: {REF}: entry 4 is not the one") and "rewritten" in line
    # A head sent before the rewritten entry still matches: the anchor proves the past up to it.
    assert cli(harness, capsys, "--verify", "--against", mails["notice"])[0] == 0


def test_a_record_cut_short_and_rewritten_is_caught_by_a_head_beyond_its_end(harness, capsys):
    acknowledged_case(harness)
    held = _mails(harness)["acknowledged"]

    def cut(s, case):
        s.exec(sa.delete(Event).where(Event.case_id == case.id, Event.seq >= 4))
        case.acknowledged_at = None
        s.add(case)

    rewrite(harness, cut)
    assert cli(harness, capsys, "--verify")[0] == 0
    code, line = cli(harness, capsys, "--verify", "--against", held)
    assert code == 1 and "entry 4 is gone" in line and "the record has 3 entries" in line


def test_every_mail_about_a_case_carries_the_head_in_a_header_and_the_footer(harness):
    acknowledged_case(harness)
    with Session(harness.app.engine) as s:
        log = record.events(s, s.exec(select(Case)).one())
    heads = {m["To"] + m["Subject"][:30]: m["X-Escalations-Record"] for _, m in sent(harness)}
    assert sorted(set(heads.values())) == [record.head_text(REF, 1, log[0].hash), record.head_text(REF, 4, log[3].hash)]
    for _, m in sent(harness):
        assert m["X-Escalations-Record"] in m.get_body(("plain",)).get_content()
        assert m["X-Escalations-Record"] in m.get_body(("html",)).get_content()


def test_against_a_list_of_heads_and_files_that_hold_none(harness, capsys, tmp_path):
    acknowledged_case(harness)
    heads = tmp_path / "heads.txt"
    heads.write_text(f"from the digest:\n{_head(harness)}\nESC-2026-0999 #3 0123456789abcdef\n")
    assert cli(harness, capsys, "--verify", "--against", str(heads))[0] == 0
    heads.write_text(f"{REF} #2 0123456789abcdef\n")
    code, line = cli(harness, capsys, "--verify", "--against", str(heads))
    assert code == 1 and "entry 2 is not the one" in line
    heads.write_text("nothing here\n")
    code, line = cli(harness, capsys, "--verify", "--against", str(heads))
    assert code == 2 and "no record head of ESC-2026-0001" in line


def test_the_snapshot_names_every_column_of_a_case():
    """A column added to Case must be placed in the record on purpose (with a migration that
    re-anchors records), or every record would stop verifying, or miss a change."""
    assert set(snapshot.COVERED) | set(snapshot.NOT_COVERED) == {c.name for c in Case.__table__.columns}
    assert set(snapshot.PARTY) == {c.name for c in Party.__table__.columns} - {"id", "case_id"}


def test_a_snapshot_does_not_depend_on_time_zones_or_the_order_of_people():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    at = datetime(2026, 7, 1, 9, tzinfo=ZoneInfo("Europe/London"))
    case = SimpleNamespace(**{c: None for c in snapshot.COVERED})
    people = [SimpleNamespace(role=r, side="raiser", stage=None, email=f"{r}@x.example", agency=None, name="N",
                              title=None, bounced=False) for r in ("raiser", "other_party")]
    one = snapshot.snapshot(SimpleNamespace(**{**vars(case), "raised_at": at}), people)
    two = snapshot.snapshot(SimpleNamespace(**{**vars(case), "raised_at": at.astimezone(timezone.utc)}), people[::-1])
    assert one == two and json.loads(snapshot.dumps(one))["parties"][0][5].startswith("sha256:")


def test_the_weekly_digest_lists_every_open_cases_head_and_is_a_mail_to_check_against(harness, capsys):
    from datetime import datetime

    from tests.helpers.harness import LONDON
    from tracker.storage.db import transaction
    from tracker.digest.weekly import catch_up

    acknowledged_case(harness)
    head = _head(harness)
    harness.clock.now = datetime(2026, 11, 30, 9, tzinfo=LONDON)
    with transaction(harness.app.engine) as s:
        assert catch_up(s, harness.app.context()) == "2026-W48"
    harness.run()
    [digest] = [path for path, m in sent(harness) if m["Subject"].startswith("[digest]")]
    assert head in open(digest).read().replace("=\n", "")
    assert cli(harness, capsys, "--verify", "--against", digest)[0] == 0

    def reword(s, case):
        s.exec(sa.update(Event).where(Event.case_id == case.id, Event.seq == 1).values(summary="opened later"))

    rewrite(harness, reword)
    code, line = cli(harness, capsys, "--verify", "--against", digest)
    assert code == 1 and "entry 5 is not the one" in line
