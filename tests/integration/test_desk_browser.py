"""The desk in Debian's Chromium: `escalations desk` as a real process, a real OpenID provider
on loopback (testbed/oidc_server.py, HTTPS with the throw-away CA) and sign-in links that
travel as mail through the outbox to a Maildir.

Each role signs in and walks its pages; every page is scanned by axe-core (no violations
allowed) and saved as a screenshot in test-output/desk/. One browser for the module.
"""
from __future__ import annotations

import email
import email.policy
import re
import secrets
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from testbed import browser as browser_harness
from testbed.dirs import server_dir
from testbed.oidc_server import OidcServer
from testbed.pki import make_test_pki
from tests.desk_fixtures import BOARD, BUSINESS, CASES, HEALTH_LEAD, POLICE_LEAD, DeskHarness, fill
from tests.helpers.harness import Clock

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "desk"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PARTY = "drew.sample@health.example.test"
SECRET = "ESCALATIONS_TEST_DESK_SECRET"
OIDC_SECRET = "ESCALATIONS_TEST_DESK_OIDC_SECRET"
# What must never be in a URL or a log line: client references, names, words of the case.
CONTENT = [c[0] for c in CASES] + ["Casey Tester", "Drew Sample", "Bruising", "nursery", "Placeholder"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(base: Path, port: int, idp: OidcServer) -> Path:
    path = base / "config.toml"
    path.write_text(f"""
[partnership]
id = "test"
name = "Example Safeguarding Partnership"
address = "escalations@partnership.example.test"
business_support = ["{BUSINESS}"]
safeguarding_lead = "dsl@partnership.example.test"
partner_domains = ["partnership.example.test", "council.example.test", "health.example.test",
                   "police.example.test", "school.example.test"]
[database]
url = "sqlite:///{base / 'cases.db'}"
url_env = ""
[inbox]
kind = "maildir"
path = "{base / 'inbox'}"
[outgoing]
kind = "maildir"
path = "{base / 'sent'}"
[daemon]
heartbeat_file = "{base / 'heartbeat.json'}"
[logging]
level = "INFO"
[desk]
base_url = "http://127.0.0.1:{port}"
session_secret_env = "{SECRET}"
board = ["group:board-members"]
[[desk.agency_leads]]
agency = "Example Health"
domains = ["health.example.test"]
people = ["{HEALTH_LEAD}"]
[[desk.agency_leads]]
agency = "Example Police"
domains = ["police.example.test"]
people = ["{POLICE_LEAD}"]
[desk.oidc]
provider = "microsoft"
issuer = "{idp.url}"
client_id = "{idp.client_id}"
client_secret_env = "{OIDC_SECRET}"
ca_file = "{idp.ca_file}"
""")
    return path


class Site:
    """The running desk, its data and the browser."""

    def __init__(self, base: Path):
        import os

        self.base = base
        self.pki = make_test_pki(base / "tls")
        self.idp = OidcServer(base / "idp", pki=self.pki).start()
        self.idp.person(BOARD, "Bea Business", groups=("board-members",))
        self.idp.person(HEALTH_LEAD, "Nat Named")
        self.idp.person("stranger@health.example.test", "Una Known")
        self.port = _free_port()
        self.config = _config(base, self.port, self.idp)
        self.env = dict(os.environ, **{SECRET: secrets.token_urlsafe(48), OIDC_SECRET: self.idp.client_secret})
        os.environ.update({SECRET: self.env[SECRET]})
        self.harness = DeskHarness(base, Clock(datetime.now(timezone.utc) - timedelta(days=9)),
                                   database_url=f"sqlite:///{base / 'cases.db'}", extra={"session_secret_env": SECRET})
        self.refs = fill(self.harness)
        self._digest()
        self.log = open(base / "desk.log", "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "tracker.cli", "--config", str(self.config), "desk",
                                      "--port", str(self.port)], cwd=ROOT, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait()
        self.browser = browser_harness.Browser(base / "browser", self.pki.ca_cert).start()
        self.urls: list[str] = []
        self.axe = AXE.read_text()

    def _digest(self) -> None:
        from tracker.digest import weekly as digest
        from tracker.storage.db import transaction

        h = self.harness
        week = digest.week_of(h.app.partnership.calendar.local(h.clock.now) - timedelta(days=7))
        with transaction(h.app.engine) as s:
            digest.queue_digest(s, h.app.context(), week)
        self.week = week

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("escalations desk exited:\n" + (self.base / "desk.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("escalations desk did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page(self, javascript: bool = True):
        ctx = self.browser.context(java_script_enabled=javascript)
        page = ctx.new_page()
        page.on("request", lambda r: self.urls.append(r.url))
        page.console = []
        page.on("console", lambda m: page.console.append(m.text))
        return page

    def link_for(self, address: str) -> str:
        """Send what the outbox holds (as the daemon would) and read the newest link mailed to `address`."""
        import asyncio
        import threading

        self.harness.clock.now = datetime.now(timezone.utc)  # the desk queued it on the real clock
        # (in a thread of its own: Playwright's sync API keeps an event loop in this one)
        sender = threading.Thread(target=lambda: asyncio.run(self.harness.app.send_all()))
        sender.start()
        sender.join(30)
        for path in sorted((self.base / "sent" / "new").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["To"] == address and "sign-in link" in str(msg["Subject"]):
                body = msg.get_body(("plain",)).get_content()
                return re.search(r"http://\S+/sign-in/link/\S+", body).group(0)
        raise AssertionError(f"no sign-in link was mailed to {address}")

    def stop(self) -> None:
        self.browser.stop()
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        self.idp.stop()


@pytest.fixture(scope="module")
def site():
    problems = browser_harness.missing_requirements()
    if problems:
        pytest.fail("the desk's browser tests need " + "; ".join(problems)
                    + ": run scripts/install-system-packages.sh as root", pytrace=False)
    OUT.mkdir(parents=True, exist_ok=True)
    s = Site(server_dir("escalations-desk-"))
    try:
        yield s
    finally:
        s.stop()


def check(site: Site, page, name: str) -> None:
    """axe-core finds nothing; nothing was refused by the page's CSP; a screenshot is saved."""
    result = page.evaluate(site.axe + "; axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', "
                           "'wcag21aa', 'wcag22aa', 'best-practice']})"
                           ".then(r => r.violations.map(v => v.id + ': ' + v.help + ' ' + "
                           "v.nodes.map(n => n.target.join(' ')).join(', ')))")
    assert result == [], f"{name}: {result}"
    refused = [m for m in page.console if "Content Security Policy" in m or "Refused" in m]
    assert refused == [], f"{name}: {refused}"
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def sign_in_by_link(site: Site, page, address: str) -> None:
    page.goto(site.url + "/today")
    assert page.url == site.url + "/sign-in"
    page.fill("#email", address)
    page.click("text=Email me a sign-in link")
    assert "Check your email" in page.content()
    page.goto(site.link_for(address))
    page.click("button:has-text('Sign in')")
    assert page.url == site.url + "/today", page.content()[:2000]


def sign_in_with_sso(site: Site, page, address: str) -> None:
    page.goto(site.url + "/sign-in")
    page.click("text=Sign in with Microsoft")
    assert page.url.startswith(site.idp.url + "/authorize")
    page.click(f"button[value='{address}']")
    page.wait_for_url(site.url + "/today")


def test_business_support_signs_in_by_link_and_works_every_page(site):
    page = site.page()
    page.goto(site.url + "/sign-in")
    check(site, page, "sign-in")
    sign_in_by_link(site, page, BUSINESS)
    assert "Open cases by stage" in page.content() and "Mail quarantined" in page.content()
    check(site, page, "business-support-today")
    page.click("nav >> text=Cases")
    check(site, page, "business-support-cases")
    page.fill("#search", CASES[1][0])  # a client reference: found, and never in a URL
    page.click("button:has-text('Show cases')")
    assert site.refs[1] in page.content() and site.refs[0] not in page.content()
    check(site, page, "business-support-cases-search")
    page.fill("#search", "")
    page.select_option("#agency", label="Example Police")
    page.click("button:has-text('Show cases')")
    assert site.refs[2] in page.content() and site.refs[0] not in page.content()
    with page.expect_download() as d:
        page.click("button:has-text('Download these cases')")
    csv = Path(d.value.path()).read_text(encoding="utf-8-sig")
    assert csv.splitlines()[0].startswith("Case,Status") and site.refs[2] in csv and site.refs[0] not in csv
    page.goto(f"{site.url}/cases/{site.refs[0]}")
    assert "Record intact" in page.content() and "ACKNOWLEDGED" in page.content()
    check(site, page, "business-support-case")
    with page.expect_download() as d:
        page.click("text=Download the case document")
    assert f"Case record {site.refs[0]}" in Path(d.value.path()).read_text()
    page.goto(site.url + "/reports")
    check(site, page, "business-support-reports")
    assert all(page.evaluate("[...document.images].map(i => i.naturalWidth > 0)"))
    page.click(f"text=Week {site.week}")
    check(site, page, "business-support-digest")


def test_the_board_signs_in_through_the_identity_provider_by_group(site):
    page = site.page()
    sign_in_with_sso(site, page, BOARD)
    params = site.idp.last_authorize
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    assert "Board" in page.content() and "Mail quarantined" not in page.content()
    check(site, page, "board-today")
    page.goto(f"{site.url}/cases/{site.refs[2]}")
    check(site, page, "board-case")
    page.goto(site.url + "/reports")
    check(site, page, "board-reports")


def test_an_agency_lead_sees_their_agencys_cases_only(site):
    page = site.page()
    sign_in_with_sso(site, page, HEALTH_LEAD)
    check(site, page, "agency-lead-today")
    page.goto(site.url + "/cases")
    assert site.refs[0] in page.content() and site.refs[2] not in page.content()
    check(site, page, "agency-lead-cases")
    page.goto(f"{site.url}/cases/{site.refs[0]}")
    check(site, page, "agency-lead-case")
    for ref in site.refs[1:]:  # the school's case and the police's
        assert page.goto(f"{site.url}/cases/{ref}").status == 404
        assert page.goto(f"{site.url}/cases/{ref}/record.html").status == 404
    assert page.goto(site.url + "/reports").status == 403
    check(site, page, "agency-lead-reports-refused")


def test_a_police_lead_signs_in_by_link_and_sees_the_police_case(site):
    page = site.page()
    sign_in_by_link(site, page, POLICE_LEAD)
    page.goto(site.url + "/cases")
    assert site.refs[2] in page.content() and site.refs[0] not in page.content()
    assert page.goto(f"{site.url}/cases/{site.refs[0]}").status == 404


def test_a_party_sees_the_case_they_are_on_and_no_other(site):
    page = site.page()
    sign_in_by_link(site, page, PARTY)
    check(site, page, "party-today")
    page.goto(site.url + "/cases")
    check(site, page, "party-cases")
    page.goto(f"{site.url}/cases/{site.refs[0]}")
    check(site, page, "party-case")
    for ref in site.refs[1:]:
        assert page.goto(f"{site.url}/cases/{ref}").status == 404
    assert "Reports" not in page.inner_text("nav")


def test_nobody_sees_anything_before_signing_in(site):
    page = site.page()
    for path in ["/today", "/cases", f"/cases/{site.refs[0]}", f"/cases/{site.refs[0]}/record.html", "/reports",
                 "/reports/charts/open-over-time.svg", f"/reports/digests/{site.week}"]:
        page.goto(site.url + path)
        assert page.url == site.url + "/sign-in", path
        assert site.refs[0] not in page.content()
    page.goto(site.url + "/sign-in")  # known to the identity provider, not to the desk
    page.click("text=Sign in with Microsoft")
    page.click("button[value='stranger@health.example.test']")
    assert "no access to this desk" in page.content()


def test_every_page_works_without_javascript(site):
    page = site.page(javascript=False)
    sign_in_by_link(site, page, BUSINESS)
    page.goto(site.url + "/cases")
    page.fill("#search", "Drew")
    page.click("button:has-text('Show cases')")
    assert site.refs[0] in page.content()
    page.goto(f"{site.url}/cases/{site.refs[0]}")
    page.click("text=Mail received")  # <details> opens without script
    assert "nursery records" in page.inner_text("main")
    page.click("button:has-text('Sign out')")
    assert "You have signed out" in page.content()
    page.goto(site.url + "/today")
    assert page.url == site.url + "/sign-in"


def test_no_case_content_in_any_url_or_log_line(site):
    assert site.urls, "the other tests ran no pages"
    leaks = [(u, c) for u in site.urls for c in CONTENT if c.lower() in u.lower()]
    assert leaks == []
    log = (site.base / "desk.log").read_text()
    assert "GET /cases/" in log and "/sign-in/link/…" in log
    assert [c for c in CONTENT if c.lower() in log.lower()] == []
    assert not re.search(r"/sign-in/link/[A-Za-z0-9_-]{20,}", log), "a link's token was logged"
