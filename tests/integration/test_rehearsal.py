"""Rehearsal through the real servers (issue 18 point 12): the console script's `--now ... run
--once` reads the intake over IMAPS and sends through Postfix as the daemon would by then; a
week on, one pass sends the escalation and the weekly digest, once; a second pass at the same
moment sends nothing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.helpers.stack import INTAKE, OTHER, WORKER, intake_mail
from tracker.storage.db import make_engine
from tracker.storage.models import Case, OutboxMail

SCRIPT = Path(sys.executable).with_name("escalations")
BUSINESS = "business@partnership.example.test"


@pytest.fixture
def stack(mailstack):
    mailstack.clear()
    yield mailstack


def write_config(stack, tmp_path: Path) -> Path:
    server = (f'host = "127.0.0.1"\nusername = "{INTAKE}"\npassword_env = "TEST_MAIL_PASSWORD"\n'
              f'ca_file = "{stack.ca_file}"\n')
    path = tmp_path / "config.toml"
    path.write_text(
        f'[partnership]\nid = "rehearsal"\naddress = "{INTAKE}"\nbusiness_support = ["{BUSINESS}"]\n'
        'partner_domains = ["partnership.example.test", "council.example.test", "health.example.test"]\n'
        f'[database]\nurl = "sqlite:///{tmp_path}/cases.db"\nurl_env = ""\n'
        '[security]\nreceiving_server = "none"\n'  # the test Postfix writes no verdict
        f'[inbox]\nkind = "imap"\nport = {stack.imaps_port}\nsecurity = "tls"\n{server}'
        f'[outgoing]\nkind = "smtp"\nport = {stack.smtp_port}\nsecurity = "starttls"\n{server}'
        f'[daemon]\nheartbeat_file = "{tmp_path}/heartbeat.json"\n')
    return path


def once(stack, config: Path, now: str) -> str:
    done = subprocess.run([str(SCRIPT), "--config", str(config), "--now", now, "run", "--once"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TEST_MAIL_PASSWORD": stack.password})
    assert done.returncode == 0, done.stderr
    assert f"the clock is set to {now}" in done.stderr
    return done.stdout


def test_a_week_rehearsed_through_the_servers(stack, tmp_path):
    config = write_config(stack, tmp_path)
    stack.send(intake_mail(), WORKER, [INTAKE])
    stack.wait_for(INTAKE, 1)
    said = once(stack, config, "2026-11-23T10:00")
    assert "handled 1 message(s)" in said and "digest for 2026-W47 queued" in said
    stack.wait_for(WORKER, 1)
    stack.wait_for(OTHER, 1)
    stack.wait_for(BUSINESS, 1)
    engine = make_engine(f"sqlite:///{tmp_path}/cases.db")
    with Session(engine) as s:
        assert s.exec(select(Case)).one().raised_at.isoformat().startswith("2026-11-23T10:00")

    said = once(stack, config, "2026-12-01T10:00")
    assert "digest for 2026-W48 queued" in said and "1 case(s) moved by time" in said
    stack.wait_for(BUSINESS, 2)
    stack.wait_for("manager@council.example.test", 1)  # stage 1 ran out: the managers are told
    with Session(engine) as s:
        kinds = sorted(m.kind for m in s.exec(select(OutboxMail)))
        assert all(m.status == "sent" for m in s.exec(select(OutboxMail)))
    assert kinds.count("digest") == 2

    said = once(stack, config, "2026-12-01T10:00")
    assert "handled 0 message(s)" in said and "sent 0 mail(s)" in said and "digest not due" in said
    with Session(engine) as s:
        assert sorted(m.kind for m in s.exec(select(OutboxMail))) == kinds
