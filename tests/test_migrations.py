"""Alembic: a database made by the previous schema version, with data in it, upgrades to
the newest without losing anything; the models and the migrations agree."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from tests.helpers.migrations import round_trip_0007, upgrade_keeps_data
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
