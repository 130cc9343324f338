"""A database made by schema version 0001 with data in it, and what upgrading it must keep:
shared by the SQLite test (tests/test_migrations.py) and the PostgreSQL one
(tests/integration/test_postgres.py)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from tracker.cases import record
from tracker.cases.record import GENESIS, _digests_before_covering
from tracker.storage import migrate
from tracker.storage.models import Case, Event

T = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)


def insert_case(c: sa.Connection, policy: str, stage: str, risk: bool) -> None:
    """Case 1, written with the columns every schema version since 0001 has."""
    c.execute(sa.text(
        'INSERT INTO "case" (id, ref, partnership, policy, stage, status, about, immediate_risk, category, '
        "client_reference, decision_disputed, decision_date, reasons, outcome_sought, raised_at, "
        "stage_started_at, stage_due_at, thread_id, policy_gap_flagged, debrief_requested) VALUES "
        "(1, 'ESC-2026-0001', 'example', :policy, :stage, 'open', 'child', :risk, 'other', 'CH-1', "
        "'d', :d, 'r', 'o', :t, :t, :t, 'ESC-2026-0001.thread@x', false, false)"),
        {"policy": policy, "stage": stage, "risk": risk, "d": date(2026, 11, 20), "t": T})


def fill_version_0001(engine: sa.Engine) -> None:
    with engine.begin() as c:
        insert_case(c, "wolverhampton", "2", False)
        old = Event(case_id=1, seq=1, at=T, kind="update", actor="a@b.example.test", stage="1",
                    summary="update from a@b.example.test", statement="we spoke today", prev_hash=GENESIS, hash="")
        old.hash = _digests_before_covering(GENESIS, "ESC-2026-0001", old)[1]  # the words form, before 0003
        c.execute(sa.text(
            "INSERT INTO event (id, case_id, seq, at, kind, actor, stage, summary, statement, prev_hash, hash) "
            "VALUES (1, 1, 1, :t, 'update', 'a@b.example.test', '1', 'update from a@b.example.test', "
            "'we spoke today', :p, :h)"), {"t": T, "p": GENESIS, "h": old.hash})
        c.execute(sa.text(
            "INSERT INTO inboundmessage (id, mailbox, source_key, digest, received_at, kind, disposition, reason, "
            "case_id, moved) VALUES (1, 'INBOX', '1:1', 'abc', :t, 'intake', 'processed', 'opened', 1, true), "
            "(2, 'INBOX', '1:2', 'def', :t, 'invalid', 'quarantine', 'invalid', NULL, true)"), {"t": T})
        c.execute(sa.text(
            "INSERT INTO outboxmail (id, idem_key, partnership, case_id, kind, recipient, message_id, raw, status, "
            "attempts, created_at, next_attempt_at) VALUES (1, 'k', 'example', 1, 'notice', 'a@b.example.test', "
            "'m@x', :raw, 'pending', 0, :t, :t)"), {"raw": b"raw mail", "t": T})
        if c.dialect.name == "postgresql":  # rows written with their ids: move the sequences past them
            for table in ("case", "event", "inboundmessage", "outboxmail"):
                c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                  f"(SELECT max(id) FROM \"{table}\"))"))


def upgrade_keeps_data(engine: sa.Engine) -> None:
    migrate.upgrade(engine, "0001")
    fill_version_0001(engine)
    before, after = migrate.upgrade(engine)
    assert (before, after) == ("0001", migrate.head())
    with engine.connect() as c:
        assert c.execute(sa.text('SELECT ref, stage FROM "case"')).all() == [("ESC-2026-0001", "2")]
        assert c.execute(sa.text("SELECT id, partnership FROM inboundmessage ORDER BY id")).all() == \
            [(1, "example"), (2, None)]
        assert c.execute(sa.text("SELECT raw, status, claimed_by FROM outboxmail")).all() == \
            [(b"raw mail", "pending", None)]
        assert c.execute(sa.text("SELECT count(*) FROM lease")).scalar_one() == 0
    with Session(engine) as s:  # a record written before 0003 still verifies, re-anchored by 0009
        case = s.get(Case, 1)
        assert record.verify(s, case).ok
        log = record.events(s, case)
        assert [e.kind for e in log] == ["update", "record_anchored"] and (case.record_seq, case.record_head) == (
            2, log[-1].hash)
        s.exec(sa.update(Case).values(stage="3"))  # from the anchor on, the record covers the case's values
        assert "stage (the record says '2', the case has '3')" in record.verify(s, case).problem
        s.rollback()
        s.exec(sa.update(Event).where(Event.seq == 1).values(statement="we never spoke"))
        assert not record.verify(s, case).ok
    assert migrate.upgrade(engine) == (migrate.head(), migrate.head())  # idempotent


def round_trip_0007(engine: sa.Engine) -> None:
    """Every case and person made before 0007 keeps its values (no clock stopped, nobody
    bounced); going back drops only what 0007 added."""
    migrate.upgrade(engine, "0006")
    with engine.begin() as c:
        insert_case(c, "wiltshire", "3", True)
        c.execute(sa.text("INSERT INTO party (id, case_id, role, side, email) VALUES "
                          "(1, 1, 'raiser', 'raiser', 'a@council.example.test')"))
    migrate.upgrade(engine, "0007")
    with engine.connect() as c:
        assert c.execute(sa.text('SELECT ref, clock_stopped_at, clock_stopped_for FROM "case"')).all() == [
            ("ESC-2026-0001", None, None)]
        assert [(e, bool(b)) for e, b in c.execute(sa.text("SELECT email, bounced FROM party"))] == [
            ("a@council.example.test", False)]
        assert c.execute(sa.text("SELECT count(*) FROM calendarentry")).scalar_one() == 0
    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0006")
    with engine.connect() as c:
        assert c.execute(sa.text('SELECT ref FROM "case"')).all() == [("ESC-2026-0001",)]
        assert c.execute(sa.text("SELECT email FROM party")).all() == [("a@council.example.test",)]
    found = sa.inspect(engine)
    assert "calendarentry" not in found.get_table_names()
    assert "bounced" not in {col["name"] for col in found.get_columns("party")}
    assert "clock_stopped_at" not in {col["name"] for col in found.get_columns("case")}
