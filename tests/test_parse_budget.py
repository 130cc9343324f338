"""Mail is read under a hard budget (issue 16, point 1): the daemon and `run --once` parse
through one ParseWorker; a message past the budget is quarantined as too costly to read and
the inbox moves on. The runaway parse is a stand-in (testbed/hostile.py: it hangs on a
marker), so each test knows it hits the budget; nothing here is timed (figures:
bench/bench_stall.py)."""
from __future__ import annotations

import os
import signal

import pytest
from sqlmodel import Session, select

from testbed.hostile import hang_on_marker, hanging
from testbed.wait import wait_until
from tests.helpers.harness import Harness
from tests.helpers.mail import WORKER, intake
from tests.test_daemon import PATIENCE, fast, sent_count, start
from tracker.config.load import config_from_dict
from tracker.errors import ConfigError
from tracker.incoming.reading import ParseWorker, WorkerUnavailable
from tracker.storage.models import Case, InboundMessage, OutboxMail


def rows(h, model):
    with Session(h.app.engine) as s:
        return list(s.exec(select(model).order_by(model.id)))


@pytest.fixture
def hanging_worker():
    with ParseWorker(budget=1.0, parse=hang_on_marker) as worker:
        yield worker


def test_a_message_past_the_budget_is_quarantined_as_too_costly_and_the_next_intake_is_confirmed(
        tmp_path, clock, hanging_worker):
    h = Harness(tmp_path, clock, reader=hanging_worker)
    h.deliver(hanging(intake()))  # from a partner agency: it passes the sender's judgement and is parsed
    h.deliver(intake().replace(b"CH-1001-TEST", b"CH-1002-TEST"))
    assert h.run() == (2, 2)  # both moved; the second's confirmation and notice sent, nothing to the first
    first, second = rows(h, InboundMessage)
    assert (first.disposition, first.kind) == ("quarantine", "too_costly")
    assert first.reason.startswith("too_costly: too costly to read") and first.sender == WORKER
    assert second.disposition == "processed" and second.case_id is not None
    assert [c.client_reference for c in rows(h, Case)] == ["CH-1002-TEST"]
    assert sorted(o.kind for o in rows(h, OutboxMail)) == ["confirmation", "notice"]
    assert len(h.folder("Quarantine")) == 1 and len(h.folder("Processed")) == 1
    assert hanging_worker.restarts == 1  # killed past the budget, and a new one read the next message


def test_the_daemon_moves_on_past_a_hanging_message_and_survives_its_worker_being_killed(
        tmp_path, clock, hanging_worker):
    h = fast(tmp_path, clock)
    h.app.reader = hanging_worker
    daemon, thread = start(h)
    try:
        h.deliver(hanging(intake()))
        h.deliver(intake().replace(b"CH-1001-TEST", b"CH-1002-TEST"))
        assert wait_until(lambda: sent_count(h) == 2, PATIENCE)
        os.kill(hanging_worker.pid, signal.SIGKILL)  # from outside: the next message gets a new worker
        h.deliver(intake().replace(b"CH-1001-TEST", b"CH-1003-TEST"))
        assert wait_until(lambda: sent_count(h) == 4, PATIENCE)
    finally:
        daemon.stop()
        thread.join(30)
    reasons = [m.reason.split(":")[0] for m in rows(h, InboundMessage)]
    assert reasons[0] == "too_costly" and len(rows(h, Case)) == 2


def test_the_daemon_reads_through_one_worker_with_the_configured_budget_closed_when_it_stops(tmp_path, clock):
    h = fast(tmp_path, clock, security={"parse_budget_seconds": 0.75})
    h.app.reader = None  # as `escalations run` is wired: no reader given
    daemon, thread = start(h)
    try:
        assert wait_until(lambda: h.app._open_reader is not None, PATIENCE)
        worker = h.app._open_reader
        assert isinstance(worker, ParseWorker) and worker.budget == 0.75 and worker.alive
        h.deliver(intake())
        h.deliver(intake().replace(b"CH-1001-TEST", b"CH-1002-TEST"))
        assert wait_until(lambda: sent_count(h) == 4, PATIENCE)
        assert h.app._open_reader is worker  # the same worker for every batch
    finally:
        daemon.stop()
        thread.join(30)
    assert not worker.alive and h.app._open_reader is None


def test_run_once_reads_through_a_worker_of_its_own_and_closes_it(tmp_path, clock):
    h = Harness(tmp_path, clock, reader=None, extra={"security": {"parse_budget_seconds": 2}})
    with h.app.parsing() as outer:
        assert isinstance(outer, ParseWorker) and outer.budget == 2.0
        with h.app.parsing() as inner:
            assert inner is outer  # nested blocks (run_once inside the daemon's life) share it
    assert not outer.alive
    h.deliver(intake())
    assert h.run() == (1, 2) and h.app._open_reader is None


def test_a_worker_that_cannot_start_blames_no_message(tmp_path, clock):
    class Unavailable:
        def parse_many(self, raws):
            raise WorkerUnavailable("the parse worker did not start")

        def close(self):
            pass

    h = Harness(tmp_path, clock, reader=Unavailable())
    h.deliver(intake())
    with pytest.raises(WorkerUnavailable):
        h.run()
    assert rows(h, InboundMessage) == [] and h.folder("Quarantine") == []  # it waits for the next pass
    h.app.reader = None
    assert h.run() == (1, 2)


@pytest.mark.parametrize("value", [0, 0.05, 61, "1.5", True])
def test_the_parse_budget_is_checked(tmp_path, value):
    with pytest.raises(ConfigError, match="security.parse_budget_seconds"):
        config_from_dict({"partnership": {"id": "t", "address": "e@p.example.test"},
                          "security": {"parse_budget_seconds": value}}, base=tmp_path)


def test_the_parse_budget_defaults_to_one_and_a_half_seconds(tmp_path):
    cfg = config_from_dict({"partnership": {"id": "t", "address": "e@p.example.test"}}, base=tmp_path)
    assert cfg.partnership.security.parse_budget_seconds == 1.5
