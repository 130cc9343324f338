"""Business support's weekly digest and the Board's records export.

The digest is a pure read of the database (tracker.digest.query) rendered through
templates/digest.txt and digest.html (tracker.digest.render), with the week's resolution
records attached as CSV (tracker.digest.records). Sending it is the same path as every other
mail: one transaction writes a DigestRun row and one outbox row per business support
address, and the outbox drains it. The DigestRun row (primary key partnership + week) is what
makes a week's digest go out once, however often the scheduled job or a restart asks.

The scheduled job is `catch_up`: run it on the digest trigger and once at start-up.

    with transaction(engine) as s:
        catch_up(s, app.context())   # -> "2026-W48", or None when nothing is due
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session

from mailer.compose import Attachment
from tracker.digest.model import Digest, ResolutionRow  # noqa: F401  (re-exported)
from tracker.digest.query import build_digest
from tracker.digest.records import COLUMNS, export_rows, resolution_csv  # noqa: F401
from tracker.digest.render import render_html, render_text, values
from tracker.digest.weeks import (digest_trigger, due_week, is_late, iso_week,  # noqa: F401
                                  week_bounds, week_of)
from tracker.digest.boardcharts import charts as board_charts
from tracker.digest.charts import png, table as chart_table
from tracker.storage.models import DigestRun
from tracker.outgoing.letter import Letter
from tracker.outgoing.outbox import enqueue

__all__ = ["iso_week", "week_of", "build_digest", "render_text", "render_html", "resolution_csv",
           "export_rows", "due_week", "queue_digest", "catch_up", "digest_trigger", "Digest", "COLUMNS"]

log = logging.getLogger(__name__)


def csv_filename(partnership, week: str) -> str:
    return f"{partnership.id}-escalations-{week}-resolutions.csv"


def queue_digest(session: Session, ctx, week: str) -> bool:
    """Queue `week`'s digest to every business support address, in the caller's transaction.

    Returns False, queueing nothing, if that week's digest was already queued. Raises
    ValueError for a week that has not ended at ctx.now: a digest sent for a week so far
    would stand in for the whole week's, which then would never go."""
    p, now = ctx.partnership, ctx.now
    if session.get(DigestRun, {"partnership": p.id, "week": week}) is not None:
        return False
    _, end = week_bounds(p, week)
    if now < end:
        raise ValueError(f"week {week} has not ended yet (it ends {end:%A %d %B %Y %H:%M}); "
                         "print it instead, or send it from then on")
    session.add(DigestRun(partnership=p.id, week=week, queued_at=now))
    session.flush()  # a concurrent run for the same week fails here, on the primary key
    digest = build_digest(session, p, week, now, late=is_late(p, week, now))
    attachment = Attachment(csv_filename(p, week), "text/csv", resolution_csv(digest.records, words=False))
    pictures, body = chart_pictures(session, p, now), values(digest)
    body["charts"] = [{k: v for k, v in c.items() if k != "png"} for c in pictures]
    for addr in p.business_support:
        enqueue(session, partnership=p, idem_key=f"digest/{p.id}/{week}/{addr}",
                letter=Letter("digest", addr, body, attachments=(attachment, *(
                    Attachment(f"{c['name']}.png", "image/png", c["png"], c["cid"]) for c in pictures))),
                case_id=None, ref=None, thread=[], now=now)
    if not p.business_support:
        log.warning("digest %s: no business support address configured; recorded as done, sent to nobody", week)
    log.info("digest %s queued for %d address(es)%s", week, len(p.business_support),
             " (late)" if digest.late else "")
    return True


def chart_pictures(session: Session, partnership, now) -> list[dict]:
    """The desk's Board charts as PNG pictures for the mail (Outlook shows no SVG), each with
    its content ID, alternative text and numbers (the HTML shows them as a table too)."""
    out = []
    for chart in board_charts(session, partnership, now):
        numbers = chart_table(chart)
        out.append({"name": chart.name, "title": chart.title, "alt": chart.description, "png": png(chart),
                    "cid": f"{chart.name}.{partnership.id}@{partnership.domain}", "head": numbers["head"],
                    "rows": numbers["rows"]})
    return out


def last_sent_week(session: Session, partnership) -> str | None:
    q = sa.select(sa.func.max(DigestRun.week)).where(DigestRun.partnership == partnership.id)
    return session.execute(q).scalar_one()


def catch_up(session: Session, ctx) -> str | None:
    """The scheduled job's body: queue the digest due at ctx.now unless it went already.
    Returns the week queued, or None. Safe to call as often as you like."""
    week = due_week(ctx.partnership, ctx.now, last_sent_week(session, ctx.partnership))
    if week is None or not queue_digest(session, ctx, week):
        return None
    return week
