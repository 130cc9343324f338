"""The production path on a real PostgreSQL: migrations with data, and the service itself."""
from __future__ import annotations

import uuid

from tests.helpers.migrations import upgrade_keeps_data
from tracker.storage.db import make_engine


def test_upgrade_from_the_previous_version_loses_nothing_postgres(postgres):
    url = postgres.new_database(f"mig_{uuid.uuid4().hex[:8]}")
    upgrade_keeps_data(make_engine(url))
