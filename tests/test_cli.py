"""The command line as people use it (issue 20 points 3 and 5, issue 18 point 12): every
failure one line with a non-zero exit; terminal-safe output; owner-only files; times in the
partnership's zone; references in any case; `--now` rehearsing the daemon's schedule
through `run --once`, exactly once, through the Maildir inbox."""
from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.helpers.mail import OTHER, intake, mail
from tests.helpers.site import site_config
from tracker.cli.main import main
from tracker.cli.options import build_parser
from tracker.cli.terminal import safe, safe_json
from tracker.storage.models import Case, OutboxMail


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text(site_config(tmp_path))
    return tmp_path


def run(site: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(site / "config.toml"), *args])
    got = capsys.readouterr()
    return code, got.out, got.err


def deliver(site: Path, raw: bytes, name: str) -> None:
    for sub in ("tmp", "new", "cur"):
        (site / "inbox" / sub).mkdir(parents=True, exist_ok=True)
    (site / "inbox" / "tmp" / name).write_bytes(raw)
    (site / "inbox" / "tmp" / name).rename(site / "inbox" / "new" / name)


def sent_kinds(site: Path) -> list[str]:
    return sorted(p.name.rsplit("-", 1)[1][:-4] for p in (site / "sent" / "new").glob("*.eml"))


def opened(site: Path, capsys, now: str = "2026-11-23T10:00") -> None:
    deliver(site, intake(), "1.eml")
    code, out, err = run(site, capsys, "--now", now, "run", "--once")
    assert code == 0, err
    assert f"the clock is set to {now}" in err


# --- rehearsal: --now and run --once ------------------------------------------------------------
def test_a_week_later_run_once_does_the_daemons_whole_schedule_exactly_once(site, capsys):
    opened(site, capsys)
    # Monday 10:00: the digest of the week before was due at 09:00 and never sent (a new database)
    assert sent_kinds(site) == ["confirmation", "digest", "notice"]
    with Session(sqlite(site)) as s:
        case = s.exec(select(Case)).one()
        assert case.raised_at.isoformat().startswith("2026-11-23T10:00")  # the rehearsal's time, not today's
    code, out, err = run(site, capsys, "--now", "2026-12-01T10:00", "run", "--once")
    assert code == 0, err
    assert "digest for 2026-W48 queued" in out
    after = sent_kinds(site)
    assert after.count("digest") == 2
    assert after.count("escalated") >= 1  # stage 1 ran out: its managers are told
    with Session(sqlite(site)) as s:
        assert s.exec(select(Case)).one().stage != "1"
    code, out, err = run(site, capsys, "--now", "2026-12-01T10:00", "run", "--once")
    assert code == 0, err
    assert sent_kinds(site) == after  # the same moment again: nothing new
    assert "sent 0 mail(s)" in out and "digest not due" in out


def test_retention_falls_due_by_the_rehearsed_time_once(site, capsys):
    config = site / "config.toml"
    config.write_text(config.read_text() + "[retention]\nclosed_case_days = 30\n")
    opened(site, capsys)
    with Session(sqlite(site)) as s:
        notice = s.exec(select(OutboxMail.message_id).where(OutboxMail.kind == "notice")).one()
    deliver(site, mail(OTHER, "RE: notice", "RESOLVED: assessment booked", in_reply_to=notice), "2.eml")
    assert run(site, capsys, "--now", "2026-11-23T11:00", "run", "--once")[0] == 0
    code, out, _ = run(site, capsys, "--now", "2026-12-20T11:00", "run", "--once")
    assert code == 0 and "0 case(s) purged" in out  # 27 days after closing
    code, out, _ = run(site, capsys, "--now", "2027-01-04T11:00", "run", "--once")
    assert code == 0 and "1 case(s) purged" in out
    with Session(sqlite(site)) as s:
        assert s.exec(select(Case)).one().purged_at is not None
    code, out, _ = run(site, capsys, "--now", "2027-01-04T11:00", "run", "--once")
    assert code == 0 and "0 case(s) purged" in out and "sent 0 mail(s)" in out


def test_run_once_leaves_the_mailbox_to_a_daemon_that_holds_it(site, capsys):
    from tracker.storage import lease

    opened(site, capsys)
    engine = sqlite(site)
    from datetime import datetime, timezone
    assert lease.acquire(engine, "mailbox:test", "elsewhere:1:abc", datetime.now(timezone.utc))
    deliver(site, mail(OTHER, "RE: notice", "ACKNOWLEDGED"), "2.eml")
    code, out, err = run(site, capsys, "run", "--once")
    assert code == 1 and "held by elsewhere:1:abc" in err and len(err.strip().splitlines()) == 1
    assert (site / "inbox" / "new" / "2.eml").exists()  # untouched


def test_now_is_read_in_the_partnerships_zone_and_refused_when_not_a_time(site, capsys):
    opened(site, capsys, now="2026-07-01T10:00")
    with Session(sqlite(site)) as s:
        assert s.exec(select(Case)).one().raised_at.hour in (9,)  # 10:00 BST is 09:00 UTC
    code, out, err = run(site, capsys, "--now", "next tuesday", "cases")
    assert code == 2 and err.count("\n") == 1 and "ISO date-time" in err


def test_the_daemon_itself_is_not_rehearsed(site, capsys):
    code, _, err = run(site, capsys, "--now", "2027-01-04T09:00", "run")
    assert code == 2 and "run --once" in err


def sqlite(site: Path):
    from tracker.storage.db import make_engine

    return make_engine(f"sqlite:///{site}/cases.db")


# --- one line, non-zero, no traceback ------------------------------------------------------------
@pytest.mark.parametrize("args, code, words", [
    (["case", "ESC-2026-0001", "--export", "/nonexistent/dir/x.html"], 1, "cannot write /nonexistent/dir/x.html"),
    (["case", "ESC-2026-0001", "--export", "{base}"], 1, "Is a directory"),
    (["digest", "--html", "/nonexistent/x.html"], 1, "cannot write"),
    (["export", "--csv", "/nonexistent/x.csv"], 1, "cannot write"),
    (["export", "--csv", "{base}/x.csv", "--from", "2026-12-01", "--to", "2026-01-01"], 2, "before --from"),
    (["export", "--csv", "{base}/x.csv", "--from", "1 April"], 2, "not a date"),
    (["cases", "--stage", "banana"], 2, "its stages are: 1, 2, 3, 4, exceptional"),
    (["case", "ESC-2026-9999"], 2, "no case ESC-2026-9999"),
    (["parse", "/nonexistent.eml"], 2, "cannot read /nonexistent.eml"),
    (["parse", "{base}"], 2, "Is a directory"),
    (["deadlines", "--policy", "nope", "--raised", "2026-01-01"], 2, "presets are"),
    (["digest", "--week", "2026-W60"], 2, "ISO weeks"),
    (["cases", "--status", "sideways"], 2, "invalid choice"),
    (["desk", "--port", "0"], 2, "port number"),
])
def test_each_failure_is_one_line(site, capsys, args, code, words):
    opened(site, capsys)
    got, out, err = run(site, capsys, *[a.format(base=site) for a in args])
    assert got == code
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err + out


def test_a_config_error_names_its_file(tmp_path, capsys):
    (tmp_path / "north.toml").write_text('[partnership]\nid = "north"\n[inbox]\nkind = "pigeon"\n')
    (tmp_path / "d.toml").write_text('[deployment]\npartnerships = ["north.toml"]\n')
    code = main(["--config", str(tmp_path / "d.toml"), "cases"])
    err = capsys.readouterr().err
    assert code == 2 and f"{tmp_path / 'north.toml'}: inbox.kind:" in err and "config.toml" not in err
    code = main(["--config", str(tmp_path / "missing.toml"), "cases"])
    assert code == 2 and "no config file at" in capsys.readouterr().err


def test_run_once_against_an_inbox_nobody_answers(site, capsys, monkeypatch):
    config = site / "config.toml"
    config.write_text(config.read_text().replace(f'[inbox]\npath = "{site}/inbox"',
        '[inbox]\nkind = "imap"\nhost = "127.0.0.1"\nport = 1\nsecurity = "tls"\nusername = "u"\n'
        'password_env = "ESCALATIONS_TEST_NO_PASSWORD"'))
    monkeypatch.setenv("ESCALATIONS_TEST_NO_PASSWORD", "x")
    code, out, err = run(site, capsys, "run", "--once")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "the inbox (imap tls 127.0.0.1:1) failed" in err and "escalations check" in err


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(site, capsys, monkeypatch):
    from tracker.cli import records

    def boom(*_a, **_k):
        raise RuntimeError("something inside\nsecond line")

    monkeypatch.setattr(records, "case_list", boom, raising=False)
    monkeypatch.setattr("tracker.cli.views.case_list", boom)
    assert run(site, capsys, "db", "upgrade")[0] == 0
    code, _, err = run(site, capsys, "cases")
    assert code == 1 and err.strip() == "escalations cases: unexpected RuntimeError: something inside " \
        "(run with --debug for the traceback)"
    with pytest.raises(RuntimeError):
        main(["--config", str(site / "config.toml"), "--debug", "cases"])


# --- what is printed and written ------------------------------------------------------------------
def test_a_statement_with_escape_sequences_is_shown_not_obeyed(site, capsys):
    opened(site, capsys)
    with Session(sqlite(site)) as s:
        notice = s.exec(select(OutboxMail.message_id).where(OutboxMail.kind == "notice")).one()
    deliver(site, mail(OTHER, "RE: notice", "UPDATE \x1b]0;owned\x07 \x1b[2J\u202egnp.exe seen", in_reply_to=notice),
            "2.eml")
    assert run(site, capsys, "--now", "2026-11-23T11:00", "run", "--once")[0] == 0
    code, out, _ = run(site, capsys, "case", "esc-2026-0001")  # any case
    assert code == 0 and "ESC-2026-0001" in out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    # The parser already drops control characters from mail; text that reached the database
    # another way (an old version, a hand edit) is escaped all the same.
    import sqlalchemy as sa
    with sqlite(site).begin() as conn:
        conn.execute(sa.update(Case).values(category="threshold \x1b[2J\x1b]0;owned\x07 \u202egnp.exe"))
    code, out, _ = run(site, capsys, "case", "ESC-2026-0001")
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "threshold \\x1b[2J\\x1b]0;owned\\x07 \\u202egnp.exe" in out
    code, out, _ = run(site, capsys, "cases")
    assert "\x1b" not in out and "\\x1b[2J" in out


def test_safe_keeps_text_and_escapes_controls():
    assert safe("Dr Sam Sample — Health") == "Dr Sam Sample — Health"
    assert safe("a\nb\x9bc") == "a\\x0ab\\x9bc"
    assert safe("a\nb", lines=True) == "a\nb"
    assert json.loads(safe_json({"s": "x\x9by\u202e"})) == {"s": "x\x9by\u202e"}
    assert "\x9b" not in safe_json({"s": "x\x9by"})


def test_files_holding_case_content_are_created_owner_only(site, capsys):
    opened(site, capsys)
    before = os.umask(0o022)  # a usual umask would leave a new file readable by everyone
    try:
        wrote(site, capsys)
    finally:
        os.umask(before)


def wrote(site, capsys):
    for args, name in ((["case", "ESC-2026-0001", "--export"], "case.html"), (["digest", "--html"], "d.html"),
                       (["export", "--csv"], "r.csv")):
        assert run(site, capsys, *args, str(site / name))[0] == 0
        assert stat.S_IMODE((site / name).stat().st_mode) == 0o600
    (site / "old.csv").write_text("x")
    os.chmod(site / "old.csv", 0o644)
    assert run(site, capsys, "export", "--csv", str(site / "old.csv"))[0] == 0
    assert stat.S_IMODE((site / "old.csv").stat().st_mode) == 0o600


def test_times_are_the_partnerships(site, capsys):
    code, out, _ = run(site, capsys, "deadlines", "--policy", "wiltshire", "--raised", "2026-06-03T10:00")
    data = json.loads(out)
    assert data["raised"] == "2026-06-03T10:00:00+01:00" and data["stages"][2]["due"].endswith("T17:00:00+01:00")
    opened(site, capsys)
    code, out, _ = run(site, capsys, "cases")
    assert "17:00" in out  # the close of business, London time
    code, out, _ = run(site, capsys, "case", "ESC-2026-0001")
    assert "2026-11-23 10:00" in out
    from datetime import datetime, timezone
    (site / "heartbeat.json").write_text(json.dumps({
        "pid": 1, "host": "h", "alive_at": datetime.now(timezone.utc).isoformat(),
        "mailbox_reached_at": "2026-07-01T09:00:00+00:00"}))
    code, out, _ = run(site, capsys, "status")
    assert "mailbox last reached 2026-07-01 10:00:00 BST" in out


def test_a_stage_is_found_in_any_case(site, capsys):
    opened(site, capsys)
    code, out, _ = run(site, capsys, "cases", "--stage", "1")
    assert code == 0 and "ESC-2026-0001" in out
    assert run(site, capsys, "cases", "--stage", "EXCEPTIONAL") == (0, "no cases\n", "")


def test_every_option_of_every_command_says_what_it_does():
    def walk(parser: argparse.ArgumentParser, path: str):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction):
                yield path, action

    missing = [f"{path} {'/'.join(a.option_strings) or a.dest}" for path, a in walk(build_parser(), "escalations")
               if not a.help]
    assert missing == []
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    described = {c.dest: c.help for c in commands._choices_actions}
    assert sorted(name for name in commands.choices if not described.get(name)) == []


def test_demo_says_how_the_next_commands_read_its_database(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    config = tmp_path / "demo-output" / "config.toml"
    assert f"--config {config} cases" in out and f"--config {config} digest" in out
    assert main(["--config", str(config), "case", "esc-2026-0001"]) == 0
    assert "ESC-2026-0001" in capsys.readouterr().out


def test_demo_never_removes_a_folder_it_did_not_write(tmp_path, capsys):
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "letter.txt").write_text("keep me")
    assert main(["demo", "--dir", str(mine)]) == 2
    assert "not a folder an earlier demo left" in capsys.readouterr().err
    assert (mine / "letter.txt").read_text() == "keep me"


def test_a_command_that_only_reads_refuses_a_database_that_is_not_there(site, capsys):
    for args in (["cases"], ["case", "ESC-2026-0001"], ["digest"], ["status"]):
        code, _, err = run(site, capsys, *args)
        assert code == 1 and "no database at" in err and "db upgrade" in err and len(err.strip().splitlines()) == 1
    assert not (site / "cases.db").exists()  # nothing made on the way


def test_verify_and_export_together_do_both(site, capsys):
    opened(site, capsys)
    code, out, _ = run(site, capsys, "case", "ESC-2026-0001", "--verify", "--export", str(site / "r.html"))
    assert code == 0 and "record intact" in out and (site / "r.html").exists()


@pytest.mark.parametrize("raised", ["0001-01-01", "9999-12-31T23:00"])
def test_deadlines_outside_the_years_it_counts_in_are_refused_as_given_wrong(site, capsys, raised):
    code, _, err = run(site, capsys, "deadlines", "--policy", "wolverhampton", "--raised", raised)
    assert code == 2 and "between the years 1901 and 8999" in err and len(err.strip().splitlines()) == 1


def test_digest_html_to_a_bad_path_fails_before_printing_the_digest(site, capsys):
    assert run(site, capsys, "db", "upgrade")[0] == 0
    code, out, err = run(site, capsys, "digest", "--html", str(site / "missing" / "d.html"))
    assert code == 1 and out.strip() == "" and "cannot write" in err
