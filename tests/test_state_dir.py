"""Where the service writes (issue 20): a state directory, never the config's folder unless
config.toml says so, and a heartbeat judged on real time."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tracker.config.load import config_from_dict
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.daemon.runner import check_state
from tracker.daemon.status import beat, report
from tracker.errors import ConfigError


@pytest.fixture(autouse=True)
def no_state_env(monkeypatch):
    monkeypatch.delenv("ESCALATIONS_STATE_DIR", raising=False)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)


def paths(cfg) -> dict[str, Path]:
    return {"database": Path(cfg.database_url.removeprefix("sqlite:///")), "heartbeat": cfg.daemon.heartbeat_file,
            "inbox": cfg.partnership.inbox.path, "outgoing": cfg.partnership.outgoing.path}


def test_a_checkout_keeps_its_state_in_var_beside_the_config(tmp_path):
    cfg = config_from_dict({"partnership": {"id": "north"}}, base=tmp_path)
    assert cfg.state_dir == tmp_path / "var"
    assert paths(cfg) == {"database": tmp_path / "var" / "escalations.db",
                          "heartbeat": tmp_path / "var" / "heartbeat-north.json",
                          "inbox": tmp_path / "var" / "inbox", "outgoing": tmp_path / "var" / "outgoing"}


def test_the_project_config_runs_from_a_checkout_as_before():
    root = Path(__file__).resolve().parents[1]
    from tracker.config.load import load_config

    cfg = load_config(root / "config.toml")
    assert paths(cfg) == {"database": root / "var" / "escalations.db", "heartbeat": root / "var" / "heartbeat-example.json",
                          "inbox": root / "var" / "inbox", "outgoing": root / "var" / "sent"}
    assert cfg.partnership.templates_dir == root / "templates"


@pytest.mark.parametrize("env", ["ESCALATIONS_STATE_DIR", "STATE_DIRECTORY"])
def test_the_environment_names_the_state_directory(tmp_path, monkeypatch, env):
    etc, state = tmp_path / "etc", tmp_path / "lib" / "escalations"
    monkeypatch.setenv(env, str(state) + (":/elsewhere" if env == "STATE_DIRECTORY" else ""))
    cfg = config_from_dict({"daemon": {"heartbeat_file": "beat/h.json"}, "templates": {"dir": "mine"},
                            "database": {"url": "sqlite:///cases.db", "url_env": ""}}, base=etc)
    assert cfg.state_dir == state
    assert paths(cfg)["database"] == state / "cases.db" and paths(cfg)["heartbeat"] == state / "beat" / "h.json"
    assert cfg.partnership.templates_dir == etc / "mine"  # configuration stays beside the config


def test_config_wins_over_the_environment_and_absolute_paths_stay(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCALATIONS_STATE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "from-systemd"))
    cfg = config_from_dict({"state": {"dir": "here"}, "inbox": {"path": str(tmp_path / "abs")}}, base=tmp_path)
    assert cfg.state_dir == tmp_path / "here" and cfg.partnership.inbox.path == tmp_path / "abs"
    monkeypatch.delenv("ESCALATIONS_STATE_DIR")
    assert config_from_dict({}, base=tmp_path).state_dir == tmp_path / "from-systemd"


def test_a_bad_state_table_is_named(tmp_path):
    with pytest.raises(ConfigError, match="state.folder"):
        config_from_dict({"state": {"folder": "x"}}, base=tmp_path)
    with pytest.raises(ConfigError, match="state.dir"):
        config_from_dict({"state": {"dir": " "}}, base=tmp_path)


def test_the_daemon_refuses_to_start_where_it_cannot_write(tmp_path):
    readonly = tmp_path / "etc"
    readonly.mkdir()
    (readonly / "file").write_text("")  # a file where the state folder should be: unwritable even for root
    cfg = config_from_dict({"state": {"dir": str(readonly / "file" / "state")},
                            "database": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}", "url_env": ""}}, base=readonly)
    with pytest.raises(ConfigError, match=r"state.dir: cannot write to .*file/state.*set \[state\] dir"):
        check_state(cfg)
    bad_db = config_from_dict({"state": {"dir": str(readonly / "file")}}, base=readonly)
    with pytest.raises(ConfigError, match=r"database.url: cannot open the SQLite file .*state directory"):
        App.from_config(bad_db, SystemClock())


class Frozen:
    """The real clock, moved: the heartbeat is judged on it, whatever the app's own time."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return 0.0


def test_the_heartbeat_is_stamped_and_judged_on_real_time_and_the_future_is_not_fresh(tmp_path):
    cfg = config_from_dict({}, base=tmp_path)
    real = Frozen(datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc))
    app = App.from_config(cfg, real, now=lambda: datetime(2030, 1, 1, tzinfo=timezone.utc))  # the app's own time
    beat(app, mailbox_reached=True)
    stamped = json.loads(cfg.daemon.heartbeat_file.read_text())
    assert stamped["alive_at"] == real.at.isoformat() and stamped["mailbox_reached_at"] == real.at.isoformat()
    assert report(app)[0]
    real.at += timedelta(minutes=3)
    healthy, line = report(app)
    assert not healthy and line.startswith("STALE") and "180 s ago" in line
    real.at -= timedelta(hours=1)  # the beat is now an hour ahead of the clock
    healthy, line = report(app)
    assert not healthy and "in the future" in line
    cfg.daemon.heartbeat_file.write_text('{"alive_at": "yesterday"}')
    healthy, line = report(app)
    assert not healthy and "not one the daemon wrote" in line


def test_status_run_by_hand_says_to_give_it_the_daemon_s_state_directory(tmp_path, monkeypatch):
    etc = tmp_path / "etc"
    cfg = config_from_dict({}, base=etc, path=etc / "config.toml")
    healthy, line = report(App.from_config(cfg, SystemClock()))
    assert not healthy and "no heartbeat at" in line and "$ESCALATIONS_STATE_DIR" in line
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    cfg = config_from_dict({}, base=etc, path=etc / "config.toml")
    assert "$ESCALATIONS_STATE_DIR" not in report(App.from_config(cfg, SystemClock()))[1]


def test_status_knows_a_clean_stop_a_vanished_process_and_another_partnership_s_beat(tmp_path):
    import subprocess

    from tracker.daemon.status import stopped

    cfg = config_from_dict({}, base=tmp_path)
    real = Frozen(datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc))
    app = App.from_config(cfg, real)
    beat(app, mailbox_reached=True)
    assert report(app)[0]
    stopped(app)  # what the daemon does last on a clean stop
    healthy, line = report(app)
    assert not healthy and "stopped cleanly" in line
    beat(app, mailbox_reached=True)  # started again: alive again
    assert report(app)[0]
    state = json.loads(cfg.daemon.heartbeat_file.read_text())
    dead = subprocess.Popen(["true"])  # a process of this host that has ended (and been reaped)
    dead.wait()
    cfg.daemon.heartbeat_file.write_text(json.dumps({**state, "pid": dead.pid}))
    healthy, line = report(app)
    assert not healthy and "ended without a clean stop" in line
    cfg.daemon.heartbeat_file.write_text(json.dumps({**state, "partnership": "elsewhere"}))
    healthy, line = report(app)
    assert not healthy and "'elsewhere'" in line
    cfg.daemon.heartbeat_file.write_text(json.dumps({**state, "pid": 1}))  # someone else's beat: left alone
    stopped(app)
    assert "stopped_at" not in json.loads(cfg.daemon.heartbeat_file.read_text())
