"""Everything under tests/integration is marked ``integration``; a failing test that used a
server gets that server's log tails in its report. The fixtures themselves
(``mailstack``, ``postgres``) are in tests/conftest.py, the servers in testbed/.

Usage::

    def test_something(mailstack, postgres):
        mailstack.clear()                         # the stack is shared by the whole session
        mailstack.send(raw, "worker@council.example.test", ["intake@partnership.example.test"])
        [msg] = mailstack.wait_for("intake@partnership.example.test", 1)
        engine = sqlmodel.create_engine(postgres.new_database("test_something"))
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Attach the servers' log tails to the report of a failing test that used them."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    for name in ("mailstack", "postgres"):
        server = funcargs.get(name)
        if server is not None:
            try:
                report.sections.append((f"{name} logs", server.tail_logs()))
            except Exception as e:  # never hide the real failure
                report.sections.append((f"{name} logs", f"<could not read logs: {e}>"))
