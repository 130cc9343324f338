"""The Reports page: the weekly digests as an archive, and the charts a Board puts in its
annual report, over the last twelve months (quarters and months in the partnership's zone).

Counts and working days only; the numbers come from SQL aggregates, except the time each
stage took, which is worked out from the record (the first entry at each stage) in working
days for the cases closed in the period.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracker.digest.query import build_digest
from tracker.digest.render import values as digest_values
from tracker.digest.boardcharts import chart, charts
from tracker.digest.charts import svg, table
from tracker.desk.context import desk_of, render, viewer
from tracker.storage.models import DigestRun

def _reader(request: Request):
    who = viewer(request)
    if not who.sees_reports:
        raise HTTPException(403, "Reports are for business support and the Board.")
    return who


async def reports_page(request: Request):
    who = _reader(request)
    desk = desk_of(request)
    with Session(desk.engine) as s:
        made = charts(s, desk.partnership, desk.clock())
        weeks = [w for (w,) in s.execute(sa.select(DigestRun.week).where(
            DigestRun.partnership == desk.partnership.id).order_by(DigestRun.week.desc()).limit(104))]
    return render(request, "desk/reports.html", viewer=who, charts=[(c, table(c)) for c in made], weeks=weeks)


async def chart_svg(request: Request):
    _reader(request)
    desk = desk_of(request)
    with Session(desk.engine) as s:
        found = chart(s, desk.partnership, desk.clock(), request.path_params["name"])
    if found is None:
        raise HTTPException(404, "There is no such chart.")
    # An SVG shown by <img> runs no script; its own styles (matplotlib writes them inline) are allowed.
    return Response(svg(found), media_type="image/svg+xml", headers={
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"})


async def digest_page(request: Request):
    who = _reader(request)
    desk = desk_of(request)
    week = request.path_params["week"]
    with Session(desk.engine) as s:
        run = s.get(DigestRun, {"partnership": desk.partnership.id, "week": week[:10]})
        if run is None:
            raise HTTPException(404, "No digest was sent for that week.")
        # As at when it was queued (the cases' statuses are today's).
        d = build_digest(s, desk.partnership, run.week, run.queued_at)
    return render(request, "desk/digest.html", viewer=who, d=digest_values(d))


def routes() -> list[Route]:
    return [Route("/reports", reports_page), Route("/reports/charts/{name}.svg", chart_svg),
            Route("/reports/digests/{week}", digest_page)]
