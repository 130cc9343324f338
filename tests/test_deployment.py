"""One deployment, several partnerships: nothing crosses between them."""
from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.helpers.mail import OTHER, intake, mail
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.cli.main import main
from tracker.config.deployment import choose, load_deployment
from tracker.errors import ConfigError
from tracker.daemon.logs import configure
from tracker.storage.models import Case, OutboxMail

PARTNERSHIP = """
[partnership]
id = "{id}"
name = "{name}"
address = "escalations@{id}.partnership.example.test"
business_support = ["business@{id}.partnership.example.test"]
partner_domains = ["council.example.test", "health.example.test"]
[policy]
preset = "{policy}"
[state]
dir = "."
[database]
url = "sqlite:///{db}"
url_env = ""
[inbox]
path = "{id}/inbox"
[outgoing]
path = "{id}/sent"
[daemon]
heartbeat_file = "{id}/heartbeat.json"
[security]
receiving_server = "none"  # Maildir mail: no receiving server's verdict
"""


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    db = tmp_path / "shared.db"
    for pid, name, policy in (("north", "North Partnership", "wolverhampton"), ("south", "South Partnership", "wiltshire")):
        (tmp_path / f"{pid}.toml").write_text(PARTNERSHIP.format(id=pid, name=name, policy=policy, db=db))
    path = tmp_path / "deployment.toml"
    path.write_text('[deployment]\npartnerships = ["north.toml", "south.toml"]\n')
    return path


def deliver(folder: Path, raw: bytes, n: int) -> None:
    (folder / "new").mkdir(parents=True, exist_ok=True)
    (folder / "new" / f"{n}.eml").write_bytes(raw)


def test_each_partnership_keeps_its_own_cases_mail_and_policy(deployment):
    base = deployment.parent
    deliver(base / "north" / "inbox", intake(), 1)
    deliver(base / "south" / "inbox", intake().replace(b"CH-1001-TEST", b"CH-2002-TEST"), 1)
    assert main(["--config", str(deployment), "run", "--once"]) == 0
    north, south = (App.from_config(c, SystemClock()) for c in load_deployment(deployment))
    with Session(north.engine) as s:
        cases = {c.partnership: c for c in s.exec(select(Case))}
        mails = s.exec(select(OutboxMail)).all()
    assert cases["north"].policy == "wolverhampton" and cases["south"].stage == "pre-escalation"
    assert cases["north"].ref != cases["south"].ref  # references are unique across the deployment
    assert {m.partnership for m in mails if m.case_id == cases["north"].id} == {"north"}
    sent = [p.name for p in (base / "north" / "sent" / "new").glob("*.eml")]
    # the case's confirmation and notice; and, run --once doing what the daemon's schedule does,
    # the weekly digest that was due by the real clock (it falls due every week)
    assert len([n for n in sent if not n.endswith("-digest.eml")]) == 2
    for eml in (base / "south" / "sent" / "new").glob("*.eml"):
        assert b"escalations@south.partnership.example.test" in eml.read_bytes()
        assert b"north" not in eml.read_bytes().lower()

    # A reply about north's case sent to south's mailbox finds nothing there.
    notice = next(m for m in mails if m.kind == "notice" and m.partnership == "north")
    deliver(base / "south" / "inbox", mail(OTHER, f"RE: [{cases['north'].ref}]", "RESOLVED",
                                          in_reply_to=notice.message_id), 2)
    assert main(["--config", str(deployment), "run", "--once"]) == 0
    with Session(north.engine) as s:
        assert s.get(Case, cases["north"].id).status == "open"
    answer = sorted((base / "south" / "sent" / "new").glob("*not_a_party.eml"))
    assert len(answer) == 1 and cases["north"].ref.encode() not in answer[0].read_bytes().split(b"\n\n", 1)[1]


def test_commands_about_one_case_need_to_know_which_partnership(deployment, capsys):
    assert main(["--config", str(deployment), "cases"]) == 2
    assert "--partnership" in capsys.readouterr().err
    assert main(["--config", str(deployment), "db", "upgrade"]) == 0
    assert main(["--config", str(deployment), "--partnership", "south", "cases"]) == 0
    with pytest.raises(ConfigError):
        choose(load_deployment(deployment), "east")


def test_a_deployment_file_holds_only_the_list(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[deployment]\npartnerships = ["a.toml"]\n[inbox]\npath = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_deployment(path)
    assert err.value.key == "inbox"


def test_duplicate_partnership_ids_are_refused(deployment):
    (deployment.parent / "south.toml").write_text((deployment.parent / "north.toml").read_text())
    with pytest.raises(ConfigError, match="both use partnership.id"):
        load_deployment(deployment)


def test_logs_are_json_lines_off_a_terminal():
    stream = io.StringIO()
    configure("INFO", stream)
    logging.getLogger("tracker.incoming.ingest").info("message %s: %s", "new/1", "opened ESC-2026-0001")
    line = json.loads(stream.getvalue().strip())
    assert line["level"] == "INFO" and line["message"] == "message new/1: opened ESC-2026-0001"
    logging.getLogger().handlers.clear()
