"""What the real-server fixtures (tests/conftest.py, and test_oauth's own stack) share.

The servers need root and the Debian packages from scripts/install-system-packages.sh; when
either is missing the fixtures FAIL (not skip) so a CI misconfiguration can't pass silently.
Set ESCALATIONS_KEEP_TEST_DIRS=1 to keep the servers' directories (configs, mail, logs) after
the session; they are kept anyway when a test failed, and their path is printed.
"""
from __future__ import annotations

import os

import pytest

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
    # issue 18's whole cases: West Sussex's IRO, Wiltshire's nominated person, the DSL
    "iro@council.example.test",
    "rep@council.example.test",
    "boardmanager@partnership.example.test",
    "dsl@partnership.example.test",
]


def require(problems: list[str], what: str) -> None:
    """Fail the test (never skip it) when a server cannot run here."""
    if problems:
        pytest.fail(
            f"integration tests need {what}, which cannot run here: " + "; ".join(problems)
            + ". Install the system packages with `sudo scripts/install-system-packages.sh` "
            "and run the integration tests as root.",
            pytrace=False,
        )


def keep_or_remove(request: pytest.FixtureRequest, server, label: str) -> None:
    """Remove a server's directory after the session, unless asked to keep it or a test failed."""
    if os.environ.get("ESCALATIONS_KEEP_TEST_DIRS") or request.session.testsfailed:
        print(f"\n{label} files kept in {server.base}")
    else:
        server.remove()
