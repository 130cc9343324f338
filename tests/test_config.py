"""config.toml: the shipped file loads, and every bad value names its key."""
from pathlib import Path

import pytest

from tracker.config.load import config_from_dict, load_config
from tracker.daemon.clock import SystemClock
from tracker.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_loads_with_demo_defaults():
    cfg = load_config(ROOT / "config.toml")
    p = cfg.partnership
    assert p.inbox.kind == "maildir" and p.outgoing.kind == "maildir"
    assert cfg.database_url.startswith("sqlite:///") and cfg.database_url.endswith("var/escalations.db")
    assert p.policy.name == "wolverhampton"
    assert "council.example.test" in p.partner_domains


@pytest.mark.parametrize("data,key", [
    ({"partnership": {"address": "not an address"}}, "partnership.address"),
    ({"partnership": {"business_support": ["ok@example.test", "nope"]}}, "partnership.business_support"),
    ({"partnership": {"id": "has space"}}, "partnership.id"),
    ({"partnership": {"colour": "blue"}}, "partnership.colour"),
    ({"inbox": {"kind": "pop3"}}, "inbox.kind"),
    ({"inbox": {"kind": "imap"}}, "inbox.host"),
    ({"inbox": {"kind": "imap", "host": "h", "port": 99999}}, "inbox.port"),
    ({"inbox": {"kind": "imap", "host": "h", "security": "none"}}, "inbox.security"),
    ({"inbox": {"kind": "imap", "host": "h", "security": "none", "allow_insecure": True}}, "inbox.security"),
    ({"outgoing": {"kind": "smtp", "host": "h", "security": "none", "allow_insecure": True, "username": "u"}},
     "outgoing.security"),
    ({"security": {"require_authentication": True}}, "security.require_authentication"),
    ({"security": {"trusted_authserv_ids": []}}, "security.trusted_authserv_ids"),
    ({"security": {"receiving_server": "exchange"}}, "security.receiving_server"),
    ({"security": {"receiving_server": "self-hosted"}}, "security.authserv_id"),
    ({"security": {"receiving_server": "google", "authserv_id": "mx.example.test"}}, "security.authserv_id"),
    ({"security": {"receiving_server": "google", "accept_compauth": True}}, "security.accept_compauth"),
    ({"security": {"receiving_server": "microsoft", "trusted_authserv_ids": ["mx.example.test"]}},
     "security.trusted_authserv_ids"),
    ({"security": {"max_replies_per_address_per_day": -1}}, "security.max_replies_per_address_per_day"),
    ({"directory": [{"agency": "X", "domains": ["x.example.test"], "wizard": "a@x.example.test"}]},
     "directory[0].wizard"),
    ({"directory": [{"agency": "X", "domains": ["x.example.test"], "director": "not-an-email"}]},
     "directory[0].director"),
    ({"board": {"independent_chair": 42}}, "board.independent_chair"),
    ({"outgoing": {"kind": "smtp", "host": "h", "security": "ssl"}}, "outgoing.security"),
    ({"outgoing": {"kind": "smtp", "host": "h", "allow_insecure": "yes"}}, "outgoing.allow_insecure"),
    ({"logging": {"level": "LOUD"}}, "logging.level"),
    ({"inbox": "maildir"}, "inbox"),
    ({"surprise": {}}, "surprise"),
])
def test_bad_values_name_the_key(tmp_path, data, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict(data, base=tmp_path)
    assert err.value.key == key
    assert key in str(err.value)


def test_passwords_come_from_the_environment(tmp_path, monkeypatch):
    cfg = config_from_dict({"inbox": {"kind": "imap", "host": "imap.example.test", "username": "u",
                                      "password_env": "TEST_IMAP_SECRET"}}, base=tmp_path)
    monkeypatch.delenv("TEST_IMAP_SECRET", raising=False)
    assert cfg.partnership.inbox.password() is None
    monkeypatch.setenv("TEST_IMAP_SECRET", "s3cret")
    assert cfg.partnership.inbox.password() == "s3cret"
    assert cfg.partnership.inbox.port == 993


def test_relative_paths_are_relative_to_the_config_file_or_the_state_directory(tmp_path):
    cfg = config_from_dict({"inbox": {"path": "mail/in"}, "templates": {"dir": "own"}}, base=tmp_path)
    assert cfg.partnership.inbox.path == tmp_path / "var" / "mail/in"  # state: tests/test_state_dir.py
    assert cfg.partnership.templates_dir == tmp_path / "own"


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no config file"):
        load_config(tmp_path / "absent.toml")


def test_digest_schedule(tmp_path):
    cfg = config_from_dict({"digest": {"day": "friday", "time": "16:30"}}, base=tmp_path)
    assert cfg.partnership.digest_day == 4 and cfg.partnership.digest_time.hour == 16
    with pytest.raises(ConfigError) as err:
        config_from_dict({"digest": {"time": "teatime"}}, base=tmp_path)
    assert err.value.key == "digest.time"


def test_check_finds_a_template_that_would_not_compile(tmp_path, capsys):
    """Mail is composed when it is sent: `escalations check` must find a broken template
    before the first mail that needs it fails."""
    from tracker.cli.check import check

    (tmp_path / "mine").mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f"""[partnership]
id = "test"
address = "escalations@partnership.example.test"

[database]
url = "sqlite:///{tmp_path / 'cases.db'}"
url_env = ""

[inbox]
kind = "maildir"
path = "{tmp_path / 'inbox'}"

[outgoing]
kind = "maildir"
path = "{tmp_path / 'sent'}"

[templates]
dir = "{tmp_path / 'mine'}"

[security]
receiving_server = "none"
""")
    assert check(str(config), SystemClock()) == 0
    assert "template ok    " in capsys.readouterr().out
    (tmp_path / "mine" / "notice.html").write_text("<p>{{ ref }</p>\n")
    assert check(str(config), SystemClock()) == 1
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("template")]
    assert line.startswith("template FAIL") and "notice.html, line 1:" in line
