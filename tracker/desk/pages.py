"""The desk's pages: Today, Cases, one Case (and its document), and the error pages.

Every handler starts with `viewer(request)`: nobody sees anything before signing in, and
every read is limited to the cases that viewer may see (tracker.desk.data.visible). A case
the viewer may not see is answered exactly like one that does not exist.

The Cases view (filters, search, sort, page, CSV) is a POSTed form, so that search text,
which may be a person's name or a client reference, never appears in a URL or a log.
"""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracker.desk import casefile, reports
from tracker.desk.context import SignInNeeded, desk_of, form_checked, redirect, render, viewer
from tracker.desk.data import PAGE, Filters, case_csv, case_rows, choices, failed_mail, find_case, quarantined

RECENT = timedelta(days=14)  # how far back Today shows quarantined mail


async def home(request: Request):
    return redirect("/today")


async def today(request: Request):
    who = viewer(request)
    desk = desk_of(request)
    now = desk.clock()
    with Session(desk.engine) as s:
        values = casefile.today(s, desk.partnership, who, now)
        if who.sees_mail_problems:
            values["quarantine"] = quarantined(s, desk.partnership.id, now - RECENT)
            values["failed"] = failed_mail(s, desk.partnership.id)
    if who.sees_all:
        values["alive"] = desk.liveness()
    return render(request, "desk/today.html", viewer=who, **values)


async def cases(request: Request):
    who = viewer(request)
    desk = desk_of(request)
    now = desk.clock()
    f = Filters.from_form(await form_checked(request)) if request.method == "POST" else Filters(status="open")
    csv_wanted = request.method == "POST" and (await request.form()).get("action") == "csv"
    with Session(desk.engine) as s:
        rows, total = case_rows(s, desk.partnership, who, f, now, limit=None if csv_wanted else PAGE)
        offered = choices(s, desk.partnership, who)
    if csv_wanted:
        return Response(case_csv(rows), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="{desk.partnership.id}-cases.csv"'})
    pages = max(1, -(-total // PAGE))
    return render(request, "desk/cases.html", viewer=who, rows=rows, total=total, f=f, pages=pages,
                  page=min(f.page, pages), choices=offered, first=(f.page - 1) * PAGE + 1)


def _case_or_404(s: Session, desk, who, ref: str):
    case = find_case(s, desk.partnership, who, ref[:40])
    if case is None:
        raise HTTPException(404, "There is no case with that reference that you can see.")
    return case


async def case_page(request: Request):
    who = viewer(request)
    desk = desk_of(request)
    now = desk.clock()
    p = desk.partnership
    with Session(desk.engine) as s:
        case = _case_or_404(s, desk, who, request.path_params["ref"])
        values = {"case": case, "stage_name": p.policy.stage(case.stage).name, "policy": p.policy.title,
                  "parties": casefile.parties_by_stage(s, case), "stages": casefile.stages(p, case, now),
                  "steps": casefile.steps(p, case, now), "check": casefile.verification(s, case),
                  "entries": casefile.timeline(s, p, desk.composer, case),
                  "raised": f"{p.calendar.local(case.raised_at):%d %B %Y %H:%M}",
                  "closed": f"{p.calendar.local(case.closed_at):%d %B %Y}" if case.closed_at else ""}
    return render(request, "desk/case.html", viewer=who, **values)


async def case_document(request: Request):
    who = viewer(request)
    desk = desk_of(request)
    with Session(desk.engine) as s:
        case = _case_or_404(s, desk, who, request.path_params["ref"])
        doc = casefile.document(s, desk.partnership, case)
    return Response(doc, media_type="text/html; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{case.ref}-record.html"'})


async def not_signed_in(request: Request, exc: Exception):
    if request.method == "POST" or request.url.path != "/sign-in":
        return redirect("/sign-in")
    return render(request, "desk/sign_in.html")


async def http_error(request: Request, exc: HTTPException):
    try:
        who = viewer(request)
    except SignInNeeded:
        who = None
    return render(request, "desk/error.html", status=exc.status_code, viewer=who, message=exc.detail,
                  title={403: "Not allowed", 404: "Page not found"}.get(exc.status_code, "Something went wrong"))


ERRORS = {SignInNeeded: not_signed_in, HTTPException: http_error}


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/today", today),
        Route("/cases", cases, methods=["GET", "POST"]),
        Route("/cases/{ref}", case_page),
        Route("/cases/{ref}/record.html", case_document),
        *reports.routes(),
    ]
