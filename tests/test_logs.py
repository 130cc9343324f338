"""Logs an operator can act on (issue 20): every JSON line names the partnership, the message
or case it is about and the error's reason, and never case content or a secret, through the
paths that really log."""
from __future__ import annotations

import asyncio
import imaplib
import io
import json
import logging
import threading

import pytest
import sqlalchemy as sa

from tests.helpers.harness import Harness
from tests.helpers.mail import intake
from tracker.config.load import config_from_dict
from tracker.daemon import sending, watcher as watcher_module
from tracker.daemon.daemon import Daemon
from tracker.daemon.logs import configure, describe, for_partnership
from tracker.daemon.watcher import MailboxLease, MailboxWatcher
from tracker.incoming import ingest

CASE_TEXT = "Two unexplained bruises seen at nursery"  # what the intake says: never in a log
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def lines():
    """Every log line of the test, parsed; the root logger as the daemon configures it."""
    out = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure("INFO", out)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    for_partnership(None)


def test_an_os_error_says_why_and_where():
    try:
        open("/nonexistent/folder/heartbeat.json", "w")
    except OSError as exc:
        assert describe(exc) == "FileNotFoundError: No such file or directory: /nonexistent/folder/heartbeat.json"


def test_a_heartbeat_that_cannot_be_written_is_logged_with_its_reason(tmp_path, clock, lines):
    (tmp_path / "ro").write_text("")  # a file where the heartbeat's folder should be
    h = Harness(tmp_path, clock, extra={"daemon": {"heartbeat_file": str(tmp_path / "ro" / "heartbeat.json")}})
    daemon = Daemon(h.app)
    for_partnership(h.app.partnership.id)
    asyncio.run(daemon.heartbeat_job())
    [line] = [x for x in lines() if x["level"] == "ERROR"]
    assert line["partnership"] == "test"
    assert line["message"] == f"heartbeat not written to {tmp_path / 'ro' / 'heartbeat.json'}"
    assert line["error"] == f"FileExistsError: File exists: {tmp_path / 'ro'}"
    assert line["error_at"].startswith("tracker/daemon/status.py:")


def test_a_message_that_cannot_be_handled_names_its_key_never_its_content(tmp_path, clock, lines, monkeypatch):
    def fails(s, ctx, msg, *args):
        raise ValueError(f"cannot handle: {CASE_TEXT}")  # as a message quoting the mail would

    monkeypatch.setattr(ingest, "handle", fails)  # any bug of the code that reads a case
    h = Harness(tmp_path, clock)
    h.deliver(intake().replace(b"Outcome sought", f"Reasons: {CASE_TEXT}\nOutcome sought".encode()))
    h.run()
    errors = [x for x in lines() if x["level"] == "ERROR"]
    assert [x["message_key"] for x in errors] == ["new/00001.test"]
    assert errors[0]["partnership"] == "test" and errors[0]["error"] == "ValueError"
    assert errors[0]["error_at"].startswith("tracker/incoming/ingest.py:")  # our code nearest the raise
    assert all(CASE_TEXT not in json.dumps(x) for x in lines())


def test_a_server_quoting_a_password_or_an_address_is_blanked_out(tmp_path, clock, lines, monkeypatch):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", PASSWORD)
    cfg = config_from_dict({"partnership": {"id": "north"},
                            "inbox": {"kind": "imap", "host": "imap.example.test", "username": "u",
                                      "password_env": "TEST_IMAP_PASSWORD"}}, base=tmp_path)
    h = Harness(tmp_path, clock)
    h.app.config = cfg
    stopping = threading.Event()

    def refused(server, clock):
        server.password()  # as open_inbox reads it
        stopping.set()  # one round only
        raise imaplib.IMAP4.error(f"[AUTHENTICATIONFAILED] LOGIN u {PASSWORD} refused for worker@council.example.test")

    monkeypatch.setattr(watcher_module, "open_inbox", refused)
    watch = MailboxWatcher(h.app, MailboxLease(h.app, threading.Event(), lambda: None), stopping,
                           threading.Event(), lambda: None)
    watch.run()  # a thread of its own in the daemon: it names its partnership itself
    [line] = [x for x in lines() if "cannot reach the mailbox" in x["message"]]
    assert line["partnership"] == "north"
    assert line["message"].startswith("cannot reach the mailbox; retrying in")
    assert line["error"] == "IMAP4.error: [AUTHENTICATIONFAILED] LOGIN u *** refused for <address>"
    assert PASSWORD not in json.dumps(lines())


def test_the_database_s_words_are_kept_and_the_statement_s_values_are_not(tmp_path, clock, lines, monkeypatch):
    h = Harness(tmp_path, clock)

    async def broken(transport):
        with h.app.engine.connect() as conn:
            conn.execute(sa.text("INSERT INTO no_such_table VALUES (:reasons)"), {"reasons": CASE_TEXT})

    monkeypatch.setattr(h.app, "flush", broken)
    for_partnership("test")
    asyncio.run(sending._send(h.app, None))
    [line] = lines()
    assert line["message"] == "sending failed; will retry" and line["partnership"] == "test"
    assert line["error"] == "OperationalError: no such table: no_such_table"
    assert CASE_TEXT not in json.dumps(line)


def test_credentials_in_a_database_url_are_blanked_out():
    exc = sa.exc.ArgumentError("Could not parse SQLAlchemy URL from string 'postgresql+psycopg://esc:"
                               f"{PASSWORD}@db.internal/escalations x'")
    assert describe(exc) == ("ArgumentError: Could not parse SQLAlchemy URL from string "
                             "'postgresql+psycopg://esc:***@db.internal/escalations x'")
