"""The desk's rules, through its HTTP interface (Starlette's TestClient) on SQLite and
PostgreSQL: who sees what, sign-in links, sessions, forms and headers. The browser tests
(tests/integration/test_desk_browser.py) walk the same pages in Chromium."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.desk_fixtures import (BOARD, BUSINESS, CASES, HEALTH_LEAD, POLICE_LEAD, client, csrf, desk_harness,
                                 fill, signed_in)
from tracker.storage.db import transaction
from tracker.desk.signin import links
from tracker.desk.signin.settings import desk_settings
from tracker.errors import ConfigError
from tracker.storage.models import DeskSignin, OutboxMail

import sqlalchemy as sa


def _count(s, model, **where) -> int:
    return s.execute(sa.select(sa.func.count()).select_from(model).filter_by(**where)).scalar_one()


def _first(s, model, **where):
    return s.execute(sa.select(model).filter_by(**where).order_by(model.id)).scalars().first()

PARTY = "drew.sample@health.example.test"


@pytest.fixture
def desk(tmp_path, clock, monkeypatch, database_url):
    h, d = desk_harness(tmp_path, clock, monkeypatch, database_url=database_url)
    d.refs = fill(h)
    d.harness = h
    yield d
    h.app.engine.dispose()


def test_nothing_is_shown_before_signing_in(desk):
    c = client(desk)
    for path in ["/", "/today", "/cases", f"/cases/{desk.refs[0]}", f"/cases/{desk.refs[0]}/record.html",
                 "/reports", "/reports/charts/open-over-time.svg", "/cases/ESC-2099-9999"]:
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"] in ("/sign-in", "/today"), path
    assert c.post("/cases", data={"csrf": csrf(c), "search": "x"}).headers["location"] == "/sign-in"


@pytest.mark.parametrize("who, sees, not_sees", [
    (BUSINESS, [0, 1, 2], []),
    (BOARD, [0, 1, 2], []),
    (HEALTH_LEAD, [0], [1, 2]),  # the case against the health visitor only
    (POLICE_LEAD, [2], [0, 1]),
    (PARTY, [0], [1, 2]),  # the case the health visitor is on
])
def test_each_role_opens_its_cases_and_no_other_by_url(desk, who, sees, not_sees):
    c = signed_in(desk, who)
    listed = c.get("/cases").text
    for i in sees:
        assert desk.refs[i] in listed
        assert c.get(f"/cases/{desk.refs[i]}").status_code == 200
        assert c.get(f"/cases/{desk.refs[i]}/record.html").status_code == 200
    for i in not_sees:
        assert desk.refs[i] not in listed
        page = c.get(f"/cases/{desk.refs[i]}")
        assert page.status_code == 404 and CASES[i][0] not in page.text
        assert c.get(f"/cases/{desk.refs[i]}/record.html").status_code == 404
        searched = c.post("/cases", data={"csrf": csrf(c, "/cases"), "search": CASES[i][0], "status": ""}).text
        assert desk.refs[i] not in searched


def test_a_case_that_does_not_exist_looks_like_one_you_may_not_see(desk):
    c = signed_in(desk, HEALTH_LEAD)
    hidden, missing = c.get(f"/cases/{desk.refs[1]}"), c.get("/cases/ESC-2099-9999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text == missing.text


@pytest.mark.parametrize("who, allowed", [(BUSINESS, True), (BOARD, True), (HEALTH_LEAD, False), (PARTY, False)])
def test_reports_are_for_business_support_and_the_board(desk, who, allowed):
    c = signed_in(desk, who)
    for path in ["/reports", "/reports/charts/resolved-by-stage.svg"]:
        assert c.get(path).status_code == (200 if allowed else 403)
    assert ('href="/reports"' in c.get("/today").text) is allowed


def test_only_business_support_sees_the_mail_that_needs_a_look(desk):
    assert "Mail quarantined" in signed_in(desk, BUSINESS).get("/today").text
    assert "Mail quarantined" not in signed_in(desk, BOARD).get("/today").text


def test_search_finds_a_case_by_reference_client_reference_agency_or_person(desk):
    c = signed_in(desk, BUSINESS)
    token = csrf(c, "/cases")
    for text, i in [(desk.refs[2], 2), ("ch-7002", 1), ("example police", 2), ("Drew Sam", 0),
                    ("pat.placeholder@", 2)]:
        page = c.post("/cases", data={"csrf": token, "search": text}).text
        assert desk.refs[i] in page, text
        assert [r for j, r in enumerate(desk.refs) if j != i and r in page] == [], text


def test_filters_and_the_csv_of_the_view(desk):
    c = signed_in(desk, BUSINESS)
    token = csrf(c, "/cases")
    page = c.post("/cases", data={"csrf": token, "category": "closing involvement"}).text
    assert desk.refs[2] in page and desk.refs[0] not in page
    r = c.post("/cases", data={"csrf": token, "agency": "Example Health", "action": "csv"})
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = r.content.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Case,Status,Stage") and len(rows) == 2 and rows[1].startswith(desk.refs[0])
    none = c.post("/cases", data={"csrf": token, "status": "resolved"}).text
    assert "No cases match" in none


def test_a_form_without_its_csrf_token_is_refused(desk):
    c = signed_in(desk, BUSINESS)
    assert c.post("/cases", data={"search": "x"}).status_code == 403
    assert c.post("/cases", data={"search": "x", "csrf": "guessed"}).status_code == 403
    assert c.post("/sign-out", data={}).status_code == 403
    assert c.get("/today").status_code == 200  # still signed in


def test_a_link_is_mailed_through_the_outbox_works_once_and_only_for_a_while(desk):
    c = client(desk)
    r = c.post("/sign-in/link", data={"csrf": csrf(c), "email": "Business@Partnership.Example.Test"})
    assert "Check your email" in r.text
    with transaction(desk.engine) as s:
        row = _first(s, OutboxMail, kind="desk_link")
        assert row.recipient == BUSINESS and row.status == "pending" and row.case_id is None
    token = row.letter.split("/sign-in/link/", 1)[1].split('"', 1)[0]
    path = f"/sign-in/link/{token}"
    assert c.get(path).status_code == 200  # a mail scanner opening the link does not use it up
    assert c.post(path, data={"csrf": csrf(c, path)}).headers["location"] == "/today"
    second = client(desk)
    assert second.post(path, data={"csrf": csrf(second, path)}).status_code == 400  # once
    with transaction(desk.engine) as s:
        late = links.request_link(s, desk.partnership, desk.settings, BUSINESS, desk.clock())
    desk.harness.clock.now += timedelta(minutes=desk.settings.link_minutes + 1)
    third = client(desk)
    late_path = late.removeprefix(desk.settings.base_url)
    assert third.post(late_path, data={"csrf": csrf(third, late_path)}).status_code == 400  # expired


def test_asking_for_a_link_says_the_same_for_a_known_and_an_unknown_address(desk):
    c = client(desk)
    known = c.post("/sign-in/link", data={"csrf": csrf(c), "email": BUSINESS}).text
    unknown = c.post("/sign-in/link", data={"csrf": csrf(c), "email": "nobody@council.example.test"}).text
    assert known.replace(BUSINESS, "X") == unknown.replace("nobody@council.example.test", "X")
    with transaction(desk.engine) as s:
        assert _count(s, OutboxMail, kind="desk_link") == 1
        assert _count(s, DeskSignin) == 2


def test_links_are_rate_limited_per_address(desk):
    c = client(desk)
    for _ in range(links.PER_ADDRESS + 2):
        assert c.post("/sign-in/link", data={"csrf": csrf(c), "email": BUSINESS}).status_code == 200
    with transaction(desk.engine) as s:
        assert _count(s, OutboxMail, kind="desk_link") == links.PER_ADDRESS
    desk.harness.clock.now += links.WINDOW
    c.post("/sign-in/link", data={"csrf": csrf(c), "email": BUSINESS})
    with transaction(desk.engine) as s:
        assert _count(s, OutboxMail, kind="desk_link") == links.PER_ADDRESS + 1


def test_a_badly_written_address_gets_a_polite_answer(desk):
    c = client(desk)
    r = c.post("/sign-in/link", data={"csrf": csrf(c), "email": "not an address"})
    assert r.status_code == 400 and "correct format" in r.text


def test_a_session_ends_after_its_hours(desk):
    c = signed_in(desk, BUSINESS)
    desk.harness.clock.now += timedelta(hours=desk.settings.session_hours, minutes=1)
    assert c.get("/today").headers["location"] == "/sign-in"


def test_signing_out_ends_the_session(desk):
    c = signed_in(desk, BUSINESS)
    assert "You have signed out" in c.post("/sign-out", data={"csrf": csrf(c, "/today")}).text
    assert c.get("/today").status_code == 303


def test_cookies_and_headers(desk):
    c = client(desk)
    r = c.get("/sign-in")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # loopback
    csp = r.headers["content-security-policy"]
    assert "script-src 'none'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in r.text and " style=" not in r.text


def test_the_access_log_carries_no_case_content_and_no_link_token(desk, caplog):
    caplog.set_level(logging.INFO, logger="tracker.desk")
    c = signed_in(desk, BUSINESS)
    c.post("/cases", data={"csrf": csrf(c, "/cases"), "search": CASES[0][0]})
    c.get(f"/cases/{desk.refs[0]}")
    # The service's own log lines (the test client logs the URLs it asks for by itself).
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("tracker", "uvicorn")))
    assert f"GET /cases/{desk.refs[0]} 200" in text and "/sign-in/link/…" in text
    assert CASES[0][0] not in text and "Drew" not in text
    token_shaped = [line for line in text.splitlines() if "/sign-in/link/" in line and "…" not in line]
    assert token_shaped == []


def test_mail_bodies_are_shown_as_text_never_as_html(desk):
    from tests.helpers.mail import mail

    h = desk.harness
    with transaction(desk.engine) as s:
        notice = _first(s, OutboxMail, kind="notice", recipient=PARTY)
    h.deliver(mail(PARTY, f"RE: [{desk.refs[0]}]", "UPDATE: <script>alert(1)</script><b>bold</b>",
                   in_reply_to=notice.message_id))
    h.run()
    page = signed_in(desk, BUSINESS).get(f"/cases/{desk.refs[0]}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_record_altered_behind_the_services_back_shows_on_the_case(desk):
    with desk.engine.begin() as db:
        db.execute(sa.text("UPDATE event SET summary = 'changed' WHERE seq = 2"))
    page = signed_in(desk, BUSINESS).get(f"/cases/{desk.refs[0]}").text
    assert "RECORD ALTERED" in page


def test_the_settings_are_checked_at_start_up(tmp_path):
    from datetime import datetime, timezone

    from tests.helpers.harness import Clock, Harness

    def settings(desk: dict):
        h = Harness(tmp_path, Clock(datetime.now(timezone.utc)), extra={"desk": desk})
        return desk_settings(h.app.config)

    assert settings({}).business_support == (BUSINESS,)
    for bad, key in [({"base_url": "http://desk.example.org"}, "desk.base_url"),
                     ({"board": ["not-an-address"]}, "desk.board"),
                     ({"sesion_hours": 3}, "desk.sesion_hours"),
                     ({"links": False}, "desk.links"),
                     ({"oidc": {"provider": "microsoft", "client_id": "x", "client_secret_env": "Y"}}, "desk.oidc.tenant"),
                     ({"agency_leads": [{"agency": "Nowhere", "people": []}]}, "desk.agency_leads[0].domains")]:
        with pytest.raises(ConfigError) as exc:
            settings(bad)
        assert exc.value.key == key if hasattr(exc.value, "key") else key in str(exc.value)


def test_the_weekly_digest_mail_carries_the_board_charts_as_inline_pictures(desk):
    import email
    import email.policy

    from tracker.digest import weekly
    from tracker.outgoing.outbox import bytes_of

    h = desk.harness
    h.clock.now += timedelta(days=7)
    week = weekly.week_of(h.app.partnership.calendar.local(h.clock.now) - timedelta(days=7))
    with transaction(desk.engine) as s:
        assert weekly.queue_digest(s, h.app.context(), week)
    with transaction(desk.engine) as s:
        raw = bytes_of(h.app.composer, _first(s, OutboxMail, kind="digest"))
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    [related] = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    pictures = [p for p in related.iter_parts() if p.get_content_type() == "image/png"]
    html = msg.get_body(("html",)).get_content()
    assert len(pictures) == 5
    for p in pictures:
        cid = p["Content-ID"].strip("<>")
        assert p.get_content().startswith(b"\x89PNG") and f'src="cid:{cid}"' in html
    assert "Cases resolved, by the stage they were resolved at" in html and "alt=" in html
    assert any(p.get_content_type() == "text/csv" for p in msg.walk())  # the records, as before


def test_two_instances_share_nothing_but_the_database_and_the_session_key(desk):
    """A session made by one instance is good at another; a link asked of one works once at any."""
    from starlette.testclient import TestClient

    from tracker.desk.web import create_app

    other = TestClient(create_app(desk), base_url="http://127.0.0.1:8080", follow_redirects=False)
    first = signed_in(desk, BUSINESS)
    other.cookies.update(first.cookies)
    assert other.get("/today").status_code == 200
    with transaction(desk.engine) as s:
        link = links.request_link(s, desk.partnership, desk.settings, BOARD, desk.clock())
    path = link.removeprefix(desk.settings.base_url)
    a, b = client(desk), TestClient(create_app(desk), base_url="http://127.0.0.1:8080", follow_redirects=False)
    assert b.post(path, data={"csrf": csrf(b, path)}).status_code == 303
    assert a.post(path, data={"csrf": csrf(a, path)}).status_code == 400


@pytest.mark.parametrize("provider, claims, expected", [
    ("microsoft", {"preferred_username": "Nat.Named@Health.Example.Test", "groups": ["g1", 7]},
     ("nat.named@health.example.test", ("g1", "7"))),
    ("microsoft", {"email": "a@council.example.test", "preferred_username": "upn@x.test"}, ("a@council.example.test", ())),
    ("microsoft", {"sub": "no address"}, "did not give an email address"),
    ("google", {"email": "a@partnership.example.test", "email_verified": True, "hd": "partnership.example.test"},
     ("a@partnership.example.test", ())),
    ("google", {"email": "a@partnership.example.test", "email_verified": False}, "not verified"),
    ("google", {"email": "a@gmail.example", "email_verified": True}, "Workspace account"),
])
def test_who_an_id_token_names(provider, claims, expected):
    from tracker.desk.signin import oidc
    from tracker.desk.signin.settings import OidcSettings

    settings = OidcSettings(provider, "https://idp.example.test", "client", "SECRET_ENV", None, None, "groups",
                            "partnership.example.test" if provider == "google" else "")
    if isinstance(expected, str):
        with pytest.raises(oidc.SignInRefused, match=expected):
            oidc.identity(settings, claims)
    else:
        assert oidc.identity(settings, claims) == expected
