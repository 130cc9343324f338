"""Session fixtures for real servers: a Dovecot + Postfix mail stack and a PostgreSQL.

Imported by tests/conftest.py so that any test can ask for them (the storage, lifecycle and
digest tests run on PostgreSQL too). The servers need root and the Debian packages from
scripts/install-system-packages.sh; when either is missing the fixtures FAIL (not skip) so a
CI misconfiguration can't pass silently. Set ESCALATIONS_KEEP_TEST_DIRS=1 to keep the
servers' directories (configs, mail, logs) after the session; they are kept anyway when a
test failed, and their path is printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import mailstack as _mailstack
from testbed import postgres as _postgres
from testbed.dirs import server_dir
from testbed.mailstack import MailStack
from testbed.postgres import Postgres

PASSWORD = "secret"
USERS = [
    "intake@partnership.example.test",
    "business@partnership.example.test",
    "worker@council.example.test",
    "manager@council.example.test",
    "senior@council.example.test",
    "other@health.example.test",
    "othermanager@health.example.test",
    "seniorhealth@health.example.test",
    "director@health.example.test",
    "stranger@elsewhere.example.test",
]

_HERE = Path(__file__).resolve().parent


def _require(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(
            f"integration tests need {what}, which cannot run here: " + "; ".join(problems)
            + ". Install the system packages with `sudo scripts/install-system-packages.sh` "
            "and run the integration tests as root.",
            pytrace=False,
        )


def _keep_or_remove(request: pytest.FixtureRequest, server, label: str) -> None:
    if os.environ.get("ESCALATIONS_KEEP_TEST_DIRS") or request.session.testsfailed:
        print(f"\n{label} files kept in {server.base}")
    else:
        server.remove()


@pytest.fixture(scope="session")
def mailstack(request: pytest.FixtureRequest) -> Iterator[MailStack]:
    """A started Dovecot + Postfix shared by the session; call ``clear()`` to isolate tests."""
    _require(_mailstack.missing_requirements(), "Dovecot and Postfix")
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
        _keep_or_remove(request, stack, "mail stack")


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[Postgres]:
    """A started PostgreSQL with an empty ``escalations`` database; ``new_database()`` per test."""
    _require(_postgres.missing_requirements(), "PostgreSQL")
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
        _keep_or_remove(request, server, "PostgreSQL")
