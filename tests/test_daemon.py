"""The daemon on the embedded default: mail handled as it arrives, the sweep and heartbeat
run on their own, and a stop finishes cleanly with everything sent."""
from __future__ import annotations

import dataclasses
import json
import threading

from sqlmodel import Session, select

from testbed.wait import wait_until
from tests.helpers.harness import Harness
from tests.helpers.mail import intake
from tracker.config.load import config_from_dict
from tracker.daemon.backoff import backoff
from tracker.daemon.daemon import Daemon
from tracker.storage.models import Case, OutboxMail
from tracker.daemon.status import report

PATIENCE = 120  # seconds a condition may take on a loaded machine; the waits end as soon as it holds


def start(h: Harness, instance: str | None = None) -> tuple[Daemon, threading.Thread]:
    """A daemon in a thread; `instance` names a second process sharing the database."""
    daemon = Daemon(dataclasses.replace(h.app, instance=instance) if instance else h.app)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    return daemon, thread


def sent_count(h: Harness, kinds=("confirmation", "notice")) -> int:
    new = h.base / "sent" / "new"
    return sum(len(list(new.glob(f"*-{k}.eml"))) for k in kinds) if new.exists() else 0


def fast(tmp_path, clock, security: dict | None = None) -> Harness:
    h = Harness(tmp_path, clock, extra={"daemon": {"sweep_seconds": 1}, "security": security or {}})
    # the Harness config has no poll setting: make the maildir inbox poll quickly
    cfg = h.app.config
    fast_inbox = type(cfg.partnership.inbox)(**{**cfg.partnership.inbox.__dict__, "poll_seconds": 0.05})
    partnership = type(cfg.partnership)(**{**cfg.partnership.__dict__, "inbox": fast_inbox})
    h.app.config = type(cfg)(**{**cfg.__dict__, "partnership": partnership})
    return h


def test_mail_is_handled_and_sent_while_the_daemon_runs(tmp_path, clock):
    h = fast(tmp_path, clock)
    daemon, thread = start(h)
    try:
        h.deliver(intake())
        assert wait_until(lambda: sent_count(h) == 2, PATIENCE)
        h.deliver(intake().replace(b"CH-1001-TEST", b"CH-1002-TEST"))
        assert wait_until(lambda: sent_count(h) == 4, PATIENCE)
    finally:
        daemon.stop()
        thread.join(30)
    assert not thread.is_alive()
    with Session(h.app.engine) as s:
        assert len(s.exec(select(Case)).all()) == 2
        statuses = [(o.kind, o.status) for o in s.exec(select(OutboxMail))]
        assert all(status == "sent" for _, status in statuses), statuses


def test_the_sweep_runs_by_itself(tmp_path, clock):
    from datetime import timedelta

    h = fast(tmp_path, clock)
    h.deliver(intake())
    h.run()
    with Session(h.app.engine) as s:
        due = s.exec(select(Case)).one().stage_due_at
    clock.now = due + timedelta(minutes=1)
    daemon, thread = start(h)
    try:
        assert wait_until(lambda: _stage(h) == "2", PATIENCE)
    finally:
        daemon.stop()
        thread.join(30)


def _stage(h: Harness) -> str:
    with Session(h.app.engine) as s:
        return s.exec(select(Case)).one().stage


def test_heartbeat_and_status(tmp_path, clock):
    h = fast(tmp_path, clock)
    healthy, line = report(h.app)
    assert not healthy and "not running" in line
    daemon, thread = start(h)
    try:
        beat = h.app.config.daemon.heartbeat_file
        assert wait_until(lambda: beat.exists() and json.loads(beat.read_text())["mailbox_reached_at"], PATIENCE)
        healthy, line = report(h.app)
        assert healthy and "alive" in line and "outbox pending 0" in line
    finally:
        daemon.stop()
        thread.join(30)


def test_stop_finishes_promptly_when_idle(tmp_path, clock):
    h = fast(tmp_path, clock)
    daemon, thread = start(h)
    assert wait_until(daemon.connected.is_set, PATIENCE)
    daemon.stop()
    thread.join(PATIENCE)
    assert not thread.is_alive()


def test_backoff_grows_with_jitter_and_is_capped():
    first = [backoff(1) for _ in range(50)]
    later = [backoff(20) for _ in range(50)]
    assert all(0.5 <= b <= 1.0 for b in first)
    assert all(150 <= b <= 300 for b in later) and len(set(later)) > 1


def test_a_digest_missed_while_down_is_sent_at_start(tmp_path, clock):
    h = fast(tmp_path, clock)
    daemon, thread = start(h)
    try:
        assert wait_until(lambda: sent_count(h, ("digest",)) == 1, PATIENCE)
    finally:
        daemon.stop()
        thread.join(30)
    daemon, thread = start(h)  # a restart sends nothing twice
    try:
        assert wait_until(daemon.connected.is_set, PATIENCE)
    finally:
        daemon.stop()
        thread.join(30)
    assert sent_count(h, ("digest",)) == 1


def test_two_daemons_one_mailbox_the_standby_takes_over(tmp_path, clock):
    h = fast(tmp_path, clock)
    first, t1 = start(h)
    assert wait_until(first.holds_lease.is_set, PATIENCE)
    second, t2 = start(h, instance="second")  # same database, same mailbox
    try:
        h.deliver(intake())
        assert wait_until(lambda: sent_count(h) == 2, PATIENCE)
        assert not second.holds_lease.is_set()
        first.stop()  # a clean stop releases the lease at once; a death lets it lapse (15 s)
        t1.join(30)
        assert wait_until(second.holds_lease.is_set, PATIENCE)
        h.deliver(intake().replace(b"CH-1001-TEST", b"CH-1003-TEST"))
        assert wait_until(lambda: sent_count(h) == 4, PATIENCE)
    finally:
        second.stop()
        t2.join(30)
    with Session(h.app.engine) as s:
        assert len(s.exec(select(Case)).all()) == 2
        assert len(s.exec(select(OutboxMail).where(OutboxMail.kind != "digest")).all()) == 4


def test_the_watcher_outlives_a_database_error_while_taking_the_mailbox(tmp_path, clock, monkeypatch):
    """A database that is away while the lease is taken (PostgreSQL restarting, say) must
    cost a retry, not the watcher thread: the process would stay up serving no mailbox."""
    import sqlalchemy as sa

    from tracker.storage import lease

    real, calls = lease.reclaim_unsent, []

    def flaky(engine, partnership):
        calls.append(partnership)
        if len(calls) == 1:
            raise sa.exc.OperationalError("UPDATE outboxmail", {}, Exception("server closed the connection"))
        return real(engine, partnership)

    monkeypatch.setattr(lease, "reclaim_unsent", flaky)
    monkeypatch.setattr("tracker.daemon.watcher.backoff", lambda failures: 0.05)
    h = fast(tmp_path, clock)
    daemon, thread = start(h)
    try:
        h.deliver(intake())
        assert wait_until(lambda: sent_count(h) == 2, PATIENCE)
    finally:
        daemon.stop()
        thread.join(30)
    assert len(calls) >= 2


def test_a_sender_process_that_keeps_dying_is_restarted_with_growing_pauses(tmp_path, clock, monkeypatch):
    """Not in a loop that spends a core starting interpreters (its database away, say)."""
    import asyncio
    from types import SimpleNamespace

    class Dying:  # our own seam: a sender process that is never alive
        process = SimpleNamespace(exitcode=1)
        starts = 0

        def alive(self):
            return False

        def start(self):
            self.starts += 1

    pauses: list[int] = []
    monkeypatch.setattr("tracker.daemon.sending.backoff", lambda failures: pauses.append(failures) or 0.01)
    daemon = Daemon(fast(tmp_path, clock).app)
    daemon.sender = Dying()

    async def run_a_while():
        task = asyncio.ensure_future(daemon.supervise_sender())
        # until it has died twice and been started again twice (then it rests in its 0.5 s look)
        await asyncio.to_thread(wait_until, lambda: daemon.sender.starts >= 2, PATIENCE)
        daemon.stopping.set()
        await task

    asyncio.run(run_a_while())
    assert len(pauses) >= 2 and pauses == list(range(1, len(pauses) + 1))  # each failure counted: growing
    assert daemon.sender.starts == len(pauses)


def test_sending_waits_while_a_backlog_is_recorded_then_goes_at_once(tmp_path, clock, monkeypatch):
    """With the sender's timer firing every few milliseconds, no flush may start while the
    watcher is recording mail; when it is done, everything is sent."""
    from tracker.daemon import sending

    monkeypatch.setattr(sending, "SENDER_RETRY_SECONDS", 0.005)
    h = fast(tmp_path, clock, security={"max_new_cases_per_sender_per_day": 1000})  # one worker, 120 cases
    for i in range(120):  # three batches
        h.deliver(intake().replace(b"CH-1001-TEST", f"CH-{3000 + i}-TEST".encode()))
    d = Daemon(h.app)
    flushes, real_flush = [], h.app.flush

    async def flush(transport):
        flushes.append(d.recording.is_set())
        return await real_flush(transport)

    monkeypatch.setattr(h.app, "flush", flush)
    thread = threading.Thread(target=d.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: sent_count(h) == 240, PATIENCE)
    finally:
        d.stop()
        thread.join(30)
    assert flushes and not any(flushes)


def test_a_long_backlog_holds_sending_back_for_a_bounded_time():
    from tracker.daemon import sender

    now = [1000.0]
    recording = threading.Event()
    backlog = sender.Backlog(recording, monotonic=lambda: now[0])
    assert not backlog.holds_back()
    recording.set()
    assert backlog.holds_back()
    now[0] += sender.HOLD_SECONDS - 1
    assert backlog.holds_back()
    now[0] += 2
    assert not backlog.holds_back()  # mail never waits longer than that for a backlog
    recording.clear()
    assert not backlog.holds_back()
    recording.set()
    assert backlog.holds_back()  # a new backlog holds again, from its own start
