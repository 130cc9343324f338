"""`escalations check` against the real Dovecot and Postfix of the test stack: all stages pass
with the right settings; a wrong host name and a missing ca_file each fail at TLS, saying which
names the certificate covers and what to set. Certificate checks stay on throughout."""
from __future__ import annotations

import socket

import pytest

from tests.helpers.servers import USERS
from tracker.cli.check import check
from tracker.daemon.clock import SystemClock

COVERED = {"localhost", "127.0.0.1"}  # testbed/pki.py's server certificate


def other_name_for_loopback() -> str:
    """A host name that reaches the stack on 127.0.0.1 but that its certificate does not cover."""
    for name in (socket.gethostname(), "localhost.localdomain", "localhost4", "ip6-localhost"):
        try:
            if name not in COVERED and socket.gethostbyname(name) == "127.0.0.1":
                return name
        except OSError:
            continue
    pytest.fail("no host name other than localhost resolves to 127.0.0.1 here; add one to /etc/hosts", pytrace=False)


def write(tmp_path, mailstack, host: str, ca: bool, monkeypatch) -> str:
    monkeypatch.setenv("TEST_MAIL_PASSWORD", mailstack.password)
    ca_line = f'ca_file = "{mailstack.ca_file}"\n' if ca else ""
    common = f'host = "{host}"\nusername = "{USERS[0]}"\npassword_env = "TEST_MAIL_PASSWORD"\n{ca_line}'
    path = tmp_path / "config.toml"
    path.write_text(f'[partnership]\nid = "test"\n[database]\nurl = "sqlite:///{tmp_path}/c.db"\nurl_env = ""\n'
                    '[security]\nreceiving_server = "none"\n'  # the test Postfix writes no verdict
                    f'[inbox]\nkind = "imap"\nport = {mailstack.imaps_port}\nsecurity = "tls"\n{common}'
                    f'[outgoing]\nkind = "smtp"\nport = {mailstack.smtp_port}\nsecurity = "starttls"\n{common}')
    return str(path)


def server_lines(capsys) -> dict[str, str]:
    return {x.split()[0]: x for x in capsys.readouterr().out.splitlines() if x.startswith(("inbox", "outgoing"))}


def test_the_stack_passes_every_stage(tmp_path, mailstack, capsys, monkeypatch):
    assert check(write(tmp_path, mailstack, "127.0.0.1", True, monkeypatch), SystemClock()) == 0
    got = server_lines(capsys)
    assert "ok" in got["inbox"] and "signed in with password" in got["inbox"]
    assert "ok" in got["outgoing"] and "signed in with password" in got["outgoing"]


def test_a_host_name_the_certificate_does_not_cover(tmp_path, mailstack, capsys, monkeypatch):
    name = other_name_for_loopback()
    assert check(write(tmp_path, mailstack, name, True, monkeypatch), SystemClock()) == 1
    for section, line in server_lines(capsys).items():
        assert "FAIL" in line and ": TLS: " in line, line
        assert f"not valid for {name!r}" in line and "it covers localhost, 127.0.0.1" in line, line
        assert f"Set [{section}] host to a name it covers" in line, line


def test_a_private_ca_not_named_in_ca_file(tmp_path, mailstack, capsys, monkeypatch):
    assert check(write(tmp_path, mailstack, "localhost", False, monkeypatch), SystemClock()) == 1
    for section, line in server_lines(capsys).items():
        assert "FAIL" in line and ": TLS: the certificate is not trusted" in line, line
        assert "it covers localhost, 127.0.0.1, issued by" in line, line
        assert f"[{section}] ca_file = " in line, line
