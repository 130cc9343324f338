"""Signing in and out: the sign-in page, one-time links by email, and single sign-on.

A link's own page asks for one press of a button (a POST) before the link is used: mail
scanners that open every link in a message (Safe Links and the like) would otherwise use it
up before the person could.
"""
from __future__ import annotations

import logging

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session
from starlette.requests import Request
from starlette.routing import Route

from tracker.storage.db import transaction
from tracker.desk.signin import oidc
from tracker.desk.signin import links
from tracker.desk.signin.access import viewer_for
from tracker.desk.context import SignInNeeded, desk_of, form_checked, redirect, render, sign_in, viewer
from tracker.desk.data import is_party

log = logging.getLogger("tracker.desk")


async def sign_in_page(request: Request):
    try:
        viewer(request)
        return redirect("/today")
    except SignInNeeded:
        return render(request, "desk/sign_in.html")


async def ask_for_link(request: Request):
    desk = desk_of(request)
    if not desk.settings.links:
        return render(request, "desk/sign_in.html", status=404)
    form = await form_checked(request)
    address = str(form.get("email", "")).strip()
    try:
        address = validate_email(address, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        return render(request, "desk/sign_in.html", status=400, email=address[:200],
                      error="Enter an email address in the correct format, like name@example.org")
    with transaction(desk.engine) as s:
        links.request_link(s, desk.partnership, desk.settings, address, desk.clock())
    return render(request, "desk/link_sent.html", email=address, minutes=desk.settings.link_minutes)


async def link_page(request: Request):
    return render(request, "desk/link_confirm.html", token=request.path_params["token"])


async def use_link(request: Request):
    desk = desk_of(request)
    await form_checked(request)
    now = desk.clock()
    with transaction(desk.engine) as s:
        email = links.redeem(s, desk.partnership.id, request.path_params["token"], now)
        allowed = email and viewer_for(desk.settings, email, (), is_party(s, desk.partnership.id, email))
    if not allowed:
        return render(request, "desk/sign_in.html", status=400,
                      error="That sign-in link has been used or has expired. Ask for a new one below.")
    sign_in(request, email, (), now)
    log.info("signed in with a link")
    return redirect("/today")


async def sso_start(request: Request):
    settings = desk_of(request).settings.oidc
    if settings is None:
        return render(request, "desk/sign_in.html", status=404)
    return await oidc.client(settings).authorize_redirect(request, f"{desk_of(request).settings.base_url}"
                                                                   "/sign-in/oidc/callback")


async def sso_callback(request: Request):
    desk = desk_of(request)
    settings = desk.settings.oidc
    if settings is None:
        return render(request, "desk/sign_in.html", status=404)
    try:
        token = await oidc.client(settings).authorize_access_token(request)
        email, groups = oidc.identity(settings, dict(token.get("userinfo") or {}))
    except oidc.OAuthError as exc:
        log.warning("single sign-on failed: %s", exc.error)
        return render(request, "desk/sign_in.html", status=400,
                      error=f"Signing in with {settings.label} did not work ({exc.error}). Try again.")
    except oidc.SignInRefused as exc:
        return render(request, "desk/sign_in.html", status=403, error=str(exc))
    with Session(desk.engine) as s:
        allowed = viewer_for(desk.settings, email, groups, is_party(s, desk.partnership.id, email))
    if not allowed:
        return render(request, "desk/sign_in.html", status=403,
                      error="Your account has no access to this desk. Ask business support if it should.")
    sign_in(request, email, groups, desk.clock())
    log.info("signed in with %s", settings.label)
    return redirect("/today")


async def sign_out(request: Request):
    await form_checked(request)
    request.session.clear()
    return render(request, "desk/sign_in.html", notice="You have signed out.")


def routes() -> list[Route]:
    return [
        Route("/sign-in", sign_in_page),
        Route("/sign-in/link", ask_for_link, methods=["POST"]),
        Route("/sign-in/link/{token}", link_page),
        Route("/sign-in/link/{token}", use_link, methods=["POST"]),
        Route("/sign-in/oidc", sso_start),
        Route("/sign-in/oidc/callback", sso_callback),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]
