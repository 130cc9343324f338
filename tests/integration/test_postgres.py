"""The production path on a real PostgreSQL: migrations with data, and the service itself."""
from __future__ import annotations

import uuid

from tests.helpers.migrations import round_trip_0007, upgrade_keeps_data
from tracker.storage.db import make_engine


def test_upgrade_from_the_previous_version_loses_nothing_postgres(postgres):
    url = postgres.new_database(f"mig_{uuid.uuid4().hex[:8]}")
    upgrade_keeps_data(make_engine(url))


def test_0007_goes_up_and_back_without_losing_anything_postgres(postgres):
    round_trip_0007(make_engine(postgres.new_database(f"mig_{uuid.uuid4().hex[:8]}")))
