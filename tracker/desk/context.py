"""What every handler shares: the Desk (partnership, database, settings), the signed-in
viewer, the CSRF token, and rendering a page.

The session cookie (signed by Starlette's SessionMiddleware, HttpOnly, SameSite=Lax, Secure
off loopback) holds the address signed in, the identity provider's groups, when the sign-in
happened and the CSRF token; the roles are worked out again on every request.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jinja2
import sqlalchemy as sa
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from mailer.compose import Composer
from tracker.desk.signin.access import Viewer, viewer_for
from tracker.desk.data import is_party
from tracker.desk.signin.settings import DeskSettings


@dataclass
class Desk:
    partnership: object  # tracker.config.PartnershipConfig
    engine: sa.Engine
    composer: Composer
    clock: Callable
    settings: DeskSettings
    liveness: Callable[[], tuple[bool, str]] = lambda: (False, "not known")  # `escalations status`
    templates: jinja2.Environment | None = None


def environment(pages: Path) -> jinja2.Environment:
    """Our pages (templates/desk/) and govuk-frontend-jinja's component macros."""
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(pages)),
        jinja2.PrefixLoader({"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}),
    ])
    env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals["choose"] = choose
    return env


def choose(values, chosen: str, any_text: str) -> list[dict]:
    """A select's items: "any" first, then each value, the chosen one selected."""
    return [{"value": "", "text": any_text}] + [{"value": v, "text": v, "selected": v == chosen} for v in values]


def desk_of(request: Request) -> Desk:
    return request.app.state.desk


class SignInNeeded(Exception):
    """Raised by `viewer` when nobody (or nobody allowed) is signed in: answered with the
    sign-in page, never with anything else."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def form_checked(request: Request):
    """The POSTed form, after its CSRF token matched the session's (403 otherwise)."""
    form = await request.form()
    expected = request.session.get("csrf", "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
        raise HTTPException(403, "This form has expired. Go back, reload the page and try again.")
    return form


def sign_in(request: Request, email: str, groups: tuple[str, ...], now) -> None:
    """A fresh session for `email`: the old one (and its CSRF token) is dropped, against
    session fixation."""
    request.session.clear()
    request.session.update({"email": email.lower(), "groups": list(groups)[:200], "at": int(now.timestamp()),
                            "csrf": secrets.token_urlsafe(32)})


def viewer(request: Request) -> Viewer:
    """The signed-in viewer, or SignInNeeded. A session past its hours is over, whatever
    the cookie's own age says."""
    desk = desk_of(request)
    email, at = request.session.get("email"), request.session.get("at", 0)
    now = desk.clock()
    if not email or now.timestamp() - at > desk.settings.session_hours * 3600:
        request.session.clear()
        raise SignInNeeded()
    groups = tuple(request.session.get("groups", ()))
    found = viewer_for(desk.settings, email, groups, is_party=False)
    if found is None or not found.sees_all:
        with Session(desk.engine) as s:
            found = viewer_for(desk.settings, email, groups, is_party=is_party(s, desk.partnership.id, email))
    if found is None:
        request.session.clear()
        raise SignInNeeded()
    return found


def render(request: Request, template: str, status: int = 200, viewer: Viewer | None = None, **values) -> HTMLResponse:
    desk = desk_of(request)
    page = desk.templates.get_template(template).render(
        partnership=desk.partnership.name, viewer=viewer, csrf=csrf_token(request), path=request.url.path,
        links=desk.settings.links, oidc=desk.settings.oidc, **values)
    return HTMLResponse(page, status_code=status)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)
