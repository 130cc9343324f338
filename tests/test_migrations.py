"""Alembic: a database made by the previous schema version, with data in it, upgrades to
the newest without losing anything; the models and the migrations agree."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel

from tests.helpers.migrations import T, fill_version_0001, round_trip_0007, upgrade_keeps_data
from tracker.cases import record
from tracker.cases.record import GENESIS, _digests_before_covering
from tracker.storage.models import Case, Event
from tracker.storage import migrate
from tracker.storage.db import make_engine


def test_upgrade_from_the_previous_version_loses_nothing_sqlite(tmp_path):
    upgrade_keeps_data(make_engine(f"sqlite:///{tmp_path / 'old.db'}"))


def test_the_models_match_the_migrations(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    migrate.upgrade(engine)
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), SQLModel.metadata)
    assert diff == []


def test_0007_adds_a_clock_stop_bounced_people_and_calendar_entries_and_goes_back_sqlite(tmp_path):
    round_trip_0007(make_engine(f"sqlite:///{tmp_path / 'old.db'}"))


def test_downgrade_past_0009_leaves_records_the_older_service_verifies(tmp_path):
    """Entries written after the upgrade are hashed again in the older form on the way down."""
    engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    migrate.upgrade(engine, "0001")
    fill_version_0001(engine)
    migrate.upgrade(engine)
    with Session(engine) as s:
        case = s.get(Case, 1)
        record.append(s, case, at=T, kind="update", actor="a@b.example.test", summary="after", statement="later")
        s.commit()
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0008")
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT seq, at, kind, actor, stage, summary, statement, statement_hash, "
                                 "inbound_id, outbox_id, prev_hash, hash FROM event ORDER BY seq")).mappings().all()
        assert [r["kind"] for r in rows] == ["update", "record_anchored", "update"]
    prev = GENESIS
    for r in rows:  # the older service's check: each entry alone, chained
        at = r["at"] if isinstance(r["at"], datetime) else datetime.fromisoformat(str(r["at"]))
        old = Event(seq=r["seq"], at=at.replace(tzinfo=timezone.utc), kind=r["kind"], actor=r["actor"],
                    stage=r["stage"], summary=r["summary"], statement=r["statement"],
                    statement_hash=r["statement_hash"], inbound_id=r["inbound_id"], outbox_id=r["outbox_id"],
                    prev_hash=r["prev_hash"], hash=r["hash"], case_id=1)
        assert r["prev_hash"] == prev and r["hash"] in _digests_before_covering(prev, "ESC-2026-0001", old)
        prev = r["hash"]
