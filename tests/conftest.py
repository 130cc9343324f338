"""The fixtures every test may ask for: a clock, the service on the embedded default
(``harness``), the database each storage test runs on twice, and the real servers of the
session (``mailstack``, ``postgres``). What tests share besides fixtures is in tests/helpers/."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest

from testbed import mailstack as _mailstack
from testbed import postgres as _postgres
from testbed.dirs import server_dir
from testbed.mailstack import MailStack
from testbed.postgres import Postgres
from tests.helpers.harness import LONDON, Clock, Harness
from tests.helpers.servers import PASSWORD, USERS, keep_or_remove, require


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A command run in-process (`run`, `desk`) sets up the root logger for itself: each test
    starts without such a handler (one a fixture outside the test left is dropped) and ends
    with the root logger as it began, so one test's log lines never land in another's output."""
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "set_by_escalations", False)]
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def clock():
    return Clock(datetime(2026, 11, 23, 10, 0, tzinfo=LONDON))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each storage test runs on the embedded default and on the production database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.db'}"
    server = request.getfixturevalue("postgres")
    return server.new_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def harness(tmp_path, clock, database_url):
    h = Harness(tmp_path, clock, database_url=database_url)
    yield h
    h.app.engine.dispose()


@pytest.fixture(scope="session")
def mailstack(request: pytest.FixtureRequest) -> Iterator[MailStack]:
    """A started Dovecot + Postfix shared by the session; call ``clear()`` to isolate tests."""
    require(_mailstack.missing_requirements(), "Dovecot and Postfix")
    stack = MailStack(server_dir("escalations-mailstack-"), USERS, password=PASSWORD)
    try:
        stack.start()
    except BaseException:
        stack.stop()
        print(stack.tail_logs())
        raise
    try:
        yield stack
    finally:
        stack.stop()
        keep_or_remove(request, stack, "mail stack")


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[Postgres]:
    """A started PostgreSQL with an empty ``escalations`` database; ``new_database()`` per test."""
    require(_postgres.missing_requirements(), "PostgreSQL")
    server = Postgres(server_dir("escalations-postgres-"))
    try:
        server.start()
    except BaseException:
        server.stop()
        print(server.tail_logs())
        raise
    try:
        yield server
    finally:
        server.stop()
        keep_or_remove(request, server, "PostgreSQL")
