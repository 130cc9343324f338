"""The desk as an ASGI application (Starlette): routes, the session, headers and templates.

Nothing lives in process memory between requests: the session is a signed cookie (its key
from the environment, shared by every instance), sign-in links and their rate limit are rows
in the database, so any number of instances can serve one PostgreSQL behind a proxy.

    desk = create_app(Desk(app, settings))     # then: uvicorn.run(desk, ...)
"""
from __future__ import annotations

import logging
import re
import time

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from tracker.desk import pages
from tracker.desk.signin import flow as signin
from tracker.desk.context import Desk, environment
from tracker.shipped import DESK_ASSETS, TEMPLATES

log = logging.getLogger("tracker.desk")

PAGES = TEMPLATES  # templates/desk/*.html
ASSETS = DESK_ASSETS  # npm run build

# No script at all, styles and images from the desk itself, forms only back to it.
CSP = ("default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
           (b"cross-origin-opener-policy", b"same-origin"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]


class Headers:
    """Security headers on every response; pages are never cached (they hold case content),
    assets are. Secure transport is pinned (HSTS) where cookies are Secure."""

    def __init__(self, app, secure: bool):
        self.app, self.secure = app, secure

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        asset = scope["path"].startswith("/assets/")

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + HEADERS
                if not asset:
                    headers.append((b"cache-control", b"no-store"))
                if self.secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


_TOKEN_PATH = re.compile(r"^(/sign-in/link/)[^/]+")


def loggable(path: str) -> str:
    """A path as the access log writes it: a sign-in link's token is cut out. Other paths
    carry at most a case reference: search text and filters travel in POSTed forms."""
    return _TOKEN_PATH.sub(r"\1…", path)


class AccessLog:
    """One line per request: method, path (see `loggable`), status and time taken. Never the
    query string, a form or a body."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0, status = time.perf_counter(), [0]

        async def record(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            log.info("%s %s %s %.0f ms", scope["method"], loggable(scope["path"]), status[0],
                     (time.perf_counter() - t0) * 1000)


def create_app(desk: Desk) -> Starlette:
    desk.templates = desk.templates or environment(PAGES)
    routes = signin.routes() + pages.routes() + [
        Mount("/assets", StaticFiles(directory=ASSETS, check_dir=False)),
    ]
    s = desk.settings
    middleware = [
        Middleware(AccessLog),
        Middleware(Headers, secure=s.secure_cookies),
        Middleware(SessionMiddleware, secret_key=s.session_secret(), session_cookie="desk_session",
                   max_age=s.session_hours * 3600, same_site="lax", https_only=s.secure_cookies),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=pages.ERRORS)
    app.state.desk = desk
    return app
