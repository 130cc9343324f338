"""`escalations check` against servers that misbehave on loopback: one that accepts and never
speaks fails at its stage within its ten seconds; the warnings for a templates folder that is
not there and for cases held under another partnership id."""
from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tracker.cli.check import check
from tracker.daemon.clock import SystemClock


@pytest.fixture
def silent_port():
    """A server that accepts every connection and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def config(tmp_path: Path, inbox: str, outgoing: str, extra: str = "") -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[partnership]\nid = "test"\n[database]\nurl = "sqlite:///{tmp_path}/c.db"\nurl_env = ""\n'
                    f'[security]\nreceiving_server = "none"\n[inbox]\n{inbox}\n[outgoing]\n{outgoing}\n{extra}')
    return str(path)


def server(port: int, security: str) -> str:
    return (f'kind = "{"imap"}"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\nusername = "u"\n'
            'password_env = "ESCALATIONS_TEST_PASSWORD"')


def lines(capsys, name: str) -> list[str]:
    return [x for x in capsys.readouterr().out.splitlines() if x.startswith(name)]


def test_a_server_that_never_speaks_fails_at_its_stage(tmp_path, capsys, silent_port, monkeypatch):
    monkeypatch.setenv("ESCALATIONS_TEST_PASSWORD", "x")
    smtp = server(silent_port, "starttls").replace('"imap"', '"smtp"')
    path = config(tmp_path, server(silent_port, "tls"), smtp)
    assert check(path, SystemClock()) == 1
    out = capsys.readouterr().out
    [inbox] = [x for x in out.splitlines() if x.startswith("inbox")]
    [outgoing] = [x for x in out.splitlines() if x.startswith("outgoing")]
    assert "FAIL" in inbox and ": TLS: " in inbox and "did not answer the TLS handshake within 10 s" in inbox
    assert "FAIL" in outgoing and ": greeting: " in outgoing and "sent no greeting within 10 s" in outgoing


def test_nothing_listening_fails_at_connect(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ESCALATIONS_TEST_PASSWORD", "x")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nobody listens there now
    path = config(tmp_path, server(port, "starttls"), f'path = "{tmp_path}/sent"')
    assert check(path, SystemClock()) == 1
    [inbox] = lines(capsys, "inbox")
    assert f": connect: Connection refused at 127.0.0.1:{port}" in inbox


def test_a_templates_folder_that_is_not_there_is_warned_of(tmp_path, capsys):
    path = config(tmp_path, f'path = "{tmp_path}/in"', f'path = "{tmp_path}/out"', '[templates]\ndir = "tempaltes"\n')
    assert check(path, SystemClock()) == 0
    [warn] = lines(capsys, "template WARN")
    assert f"{tmp_path / 'tempaltes'} is missing" in warn and "shipped wording" in warn
    path = config(tmp_path, f'path = "{tmp_path}/in"', f'path = "{tmp_path}/out"')
    assert check(path, SystemClock()) == 0
    assert lines(capsys, "template WARN") == []  # not named: the shipped templates, as documented


def test_cases_under_another_partnership_id_are_warned_of(tmp_path, capsys):
    from tests.helpers.harness import Clock, Harness
    from tests.helpers.mail import intake
    from datetime import datetime, timezone

    h = Harness(tmp_path, Clock(datetime(2026, 11, 23, 10, tzinfo=timezone.utc)))  # partnership "test"
    h.deliver(intake())
    h.run()
    path = config(tmp_path, f'path = "{tmp_path}/in"', f'path = "{tmp_path}/out"').replace("c.db", "cases.db")
    Path(path).write_text(Path(path).read_text().replace("c.db", "cases.db").replace('id = "test"', 'id = "tset"'))
    assert check(path, SystemClock()) == 0
    [warn] = lines(capsys, "database WARN")
    assert "holds 1 case(s) of partnership 'test'" in warn and "put it back to 'test'" in warn


def test_a_server_that_greets_then_says_nothing_fails_at_sign_in(tmp_path, capsys, monkeypatch):
    """IMAPS with the throw-away CA (verification on): connect, TLS and greeting pass; then silence."""
    import ssl

    from testbed.pki import make_test_pki

    pki = make_test_pki(tmp_path / "pki")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held = []

    def serve():
        for _ in range(2):
            try:
                conn = context.wrap_socket(listener.accept()[0], server_side=True)
                conn.sendall(b"* OK IMAP4rev1 ready\r\n")
                held.append(conn)
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    monkeypatch.setenv("ESCALATIONS_TEST_PASSWORD", "x")
    inbox = server(listener.getsockname()[1], "tls").replace('"127.0.0.1"', '"localhost"') + f'\nca_file = "{pki.ca_cert}"'
    try:
        assert check(config(tmp_path, inbox, f'path = "{tmp_path}/out"'), SystemClock()) == 1
    finally:
        listener.close()
        for conn in held:
            conn.close()
    [line] = lines(capsys, "inbox")
    assert "FAIL" in line and "sign-in" in line and "no answer within 10 s" in line, line


def test_a_config_given_wrong_is_exit_2_as_for_every_command(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[partnership]\nid = "test"\n[inbox]\nkind = "pigeon"\n')
    assert check(str(path), SystemClock()) == 2
    assert "config   FAIL" in capsys.readouterr().out
