"""`escalations demo` leaves its folder ready for the desk: a config.toml to serve it from, and
a one-time sign-in link for business support, printed and in the demo's sent mail."""
from __future__ import annotations

import email
import email.policy
import io
import re

from tests.desk_fixtures import csrf
from tracker.cli.demo import run_demo
from tracker.config.load import load_config
from tracker.daemon.app import App
from tracker.daemon.clock import SystemClock
from tracker.desk.serve import desk_for
from tracker.desk.web import create_app


def test_the_demo_prints_a_link_that_signs_business_support_in_to_its_desk(tmp_path):
    from starlette.testclient import TestClient

    out = io.StringIO()
    assert run_demo(tmp_path / "demo", out, SystemClock()) == 0
    printed = out.getvalue()
    assert f"--config {tmp_path / 'demo' / 'config.toml'} desk" in printed
    link = re.search(r"http://127\.0\.0\.1:8080/sign-in/link/[\w-]+", printed).group(0)
    mailed = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
              for p in (tmp_path / "demo" / "sent" / "new").iterdir()]
    [mail] = [m for m in mailed if "sign-in link" in str(m["Subject"])]
    assert mail["To"] == "business@partnership.example.test" and link in mail.get_body(("plain",)).get_content()
    app = App.from_config(load_config(tmp_path / "demo" / "config.toml"), SystemClock())
    c = TestClient(create_app(desk_for(app)), base_url="http://127.0.0.1:8080", follow_redirects=False)
    path = link.removeprefix("http://127.0.0.1:8080")
    assert c.post(path, data={"csrf": csrf(c, path)}).headers["location"] == "/today"
    today = c.get("/today").text
    assert "ESC-2026-0003" in today  # the school's escalation, still open
