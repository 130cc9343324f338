"""Two daemons, one mailbox, one PostgreSQL database: one serves, the other stands by; kill
the one serving mid-run and every case and every mail still happens exactly once."""
from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import uuid
from pathlib import Path

import sqlalchemy as sa

from testbed.service import cli, service_env, write_config
from testbed.wait import wait_until
from tests.helpers.mail import INTAKE_BODY
from tracker.storage import migrate

INTAKE = "intake@partnership.example.test"
WORKER = "worker@council.example.test"
OTHER = "other@health.example.test"
N = int(os.environ.get("ESCALATIONS_INSTANCES_INTAKES", "60"))



def intake(n: int) -> bytes:
    body = (INTAKE_BODY.replace("{risk}", "no").replace("casey.tester@council.example.test", WORKER)
            .replace("drew.sample@health.example.test", OTHER).replace("CH-1001-TEST", f"CH-{n:05d}-TWIN"))
    return (f"From: Casey Tester <{WORKER}>\r\nTo: {INTAKE}\r\nSubject: Escalation {n}\r\n"
            f"Message-ID: <twin-{n}-{uuid.uuid4().hex}@council.example.test>\r\n\r\n{body}").encode()


def daemon(stack, config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cli(stack, config, "run"), stdin=subprocess.DEVNULL, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, env=service_env(stack))


def holder(engine) -> str | None:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT holder FROM lease")).scalar()


def count(engine, sql: str) -> int:
    with engine.connect() as c:
        return c.execute(sa.text(sql)).scalar_one()


def message_ids(raws: list[bytes]) -> list[str]:
    return [str(email.message_from_bytes(r, policy=email.policy.default)["Message-ID"]) for r in raws]


def test_kill_the_serving_daemon_and_the_standby_finishes_exactly_once(mailstack, postgres, tmp_path):
    mailstack.clear()
    db = postgres.new_database(f"twin_{uuid.uuid4().hex[:8]}")
    engine = sa.create_engine(db)
    migrate.upgrade(engine)  # as `escalations db upgrade` would, before either starts
    config = write_config(mailstack, tmp_path, log_level="INFO", database_url=db)
    with mailstack.imap(INTAKE) as imap:
        for n in range(N):
            imap.append("INBOX", intake(n))
    first = daemon(mailstack, config, tmp_path / "first.log")
    second = None
    try:
        assert wait_until(lambda: holder(engine) is not None, 60), (tmp_path / "first.log").read_text()
        held_by = holder(engine)
        second = daemon(mailstack, config, tmp_path / "second.log")
        assert wait_until(lambda: count(engine, 'SELECT count(*) FROM "case"') >= N // 3, 120)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        assert wait_until(lambda: holder(engine) not in (None, held_by), 60), (tmp_path / "second.log").read_text()
        assert wait_until(lambda: count(engine, "SELECT count(*) FROM outboxmail WHERE status = 'sent' "
                                                "AND kind IN ('confirmation', 'notice')") == 2 * N, 180)
        confirmations = mailstack.wait_for(WORKER, N, timeout=60)
        notices = mailstack.wait_for(OTHER, N, timeout=60)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(60)
    assert count(engine, 'SELECT count(*) FROM "case"') == N
    assert count(engine, "SELECT count(DISTINCT client_reference) FROM \"case\"") == N
    assert len(mailstack.messages(INTAKE, "Processed")) == N and mailstack.messages(INTAKE) == []
    wait_until(lambda: mailstack.queue_size() == 0, 60)  # anything sent twice is delivered by now
    for raws in (mailstack.messages(WORKER), mailstack.messages(OTHER)):
        ids = message_ids(raws)
        assert len(set(ids)) == N
        # a second copy can only come from the one window the README names (killed between the
        # server's 250 and the row update); it carries the same Message-ID, and there was one kill
        assert len(ids) - len(set(ids)) <= 1
