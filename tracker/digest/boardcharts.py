"""The Board's charts as values (tracker.digest.charts draws them): over the last twelve
months, in quarters and months of the partnership's zone. Counts and working days only; the
numbers come from SQL aggregates, except the time each stage took, worked out from the record
(the first entry at each stage) in working days for the cases closed in the period.

Used by the desk's Reports page and by the weekly digest mail (as PNG pictures).

    charts(session, partnership, now)   # -> [Chart, ...]
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from statistics import median

import sqlalchemy as sa
from sqlmodel import Session

from tracker.digest.charts import Chart
from tracker.storage.models import Case, Event

_C = Case.__table__.c
TOP = 5  # categories or agencies named; the rest are "others"


def _n(cond):
    return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)


def _local_midnight(partnership, d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=partnership.calendar.tz)


def quarters(partnership, now: datetime, count: int = 4) -> list[tuple[str, datetime, datetime]]:
    local = partnership.calendar.local(now).date()
    q_start = date(local.year, 3 * ((local.month - 1) // 3) + 1, 1)
    out = []
    for _ in range(count):
        end = date(q_start.year + (q_start.month + 2) // 12, (q_start.month + 2) % 12 + 1, 1)
        out.append((f"{q_start.year} Q{(q_start.month - 1) // 3 + 1}", _local_midnight(partnership, q_start),
                    _local_midnight(partnership, end)))
        prev = q_start - timedelta(days=1)
        q_start = date(prev.year, 3 * ((prev.month - 1) // 3) + 1, 1)
    return out[::-1]


def resolved_at_stage(db, partnership, lo, hi) -> Chart:
    q = (sa.select(_C.stage, sa.func.count()).where(_C.partnership == partnership.id, _C.status == "resolved",
                                                    _C.closed_at >= lo, _C.closed_at < hi).group_by(_C.stage))
    counts = dict(db.execute(q).all())
    keys = [s.key for s in partnership.policy.stages]
    return Chart("resolved-by-stage", "Cases resolved, by the stage they were resolved at", "bar",
                 tuple(f"Stage {k}" for k in keys), (("Resolved", tuple(counts.get(k, 0) for k in keys)),),
                 note="Cases resolved in the last twelve months.")


def stage_days(db, partnership, lo, hi) -> Chart:
    """Median working days spent at each stage by the cases closed in the period, against the
    policy's allowance for that stage."""
    closed = sa.select(_C.id).where(_C.partnership == partnership.id, _C.status != "open",
                                    _C.closed_at >= lo, _C.closed_at < hi)
    q = (sa.select(Event.case_id, Event.stage, sa.func.min(Event.at)).where(Event.case_id.in_(closed))
         .group_by(Event.case_id, Event.stage))
    starts: dict[int, dict[str, datetime]] = {}
    for case_id, stage, at in db.execute(q):
        starts.setdefault(case_id, {})[stage] = at
    ends = dict(db.execute(sa.select(_C.id, _C.closed_at).where(_C.id.in_(closed))).all())
    order = [s.key for s in partnership.policy.stages]
    taken: dict[str, list[int]] = {k: [] for k in order}
    cal = partnership.calendar
    for case_id, at in starts.items():
        seq = sorted((k for k in at if k in taken), key=order.index)
        for i, k in enumerate(seq):
            end = at[seq[i + 1]] if i + 1 < len(seq) else ends.get(case_id)
            if end is not None:
                taken[k].append(cal.working_days_between(at[k], end))
    used = [k for k in order if taken[k]] or order
    return Chart("stage-days", "Working days spent at each stage, against the policy", "bar",
                 tuple(f"Stage {k}" for k in used),
                 (("Median taken", tuple(float(median(taken[k])) if taken[k] else 0.0 for k in used)),
                  ("Policy allows", tuple(partnership.policy.stage(k).working_days for k in used))),
                 unit="working days", note="Cases closed in the last twelve months.")


def by_quarter(db, partnership, col, title: str, name: str, periods) -> Chart:
    lo, hi = periods[0][1], periods[-1][2]
    mine = sa.and_(_C.partnership == partnership.id, _C.raised_at >= lo, _C.raised_at < hi)
    totals = db.execute(sa.select(col, sa.func.count()).where(mine).group_by(col)
                        .order_by(sa.func.count().desc())).all()
    top = [label for label, _ in totals[:TOP]]
    sums = [_n(sa.and_(_C.raised_at >= a, _C.raised_at < b, col == label)) for label in top for _, a, b in periods]
    sums += [_n(sa.and_(_C.raised_at >= a, _C.raised_at < b)) for _, a, b in periods]
    row = db.execute(sa.select(*sums).where(mine)).one() if sums else ()
    k = len(periods)
    series = [(label or "not given", tuple(int(v) for v in row[i * k:(i + 1) * k])) for i, label in enumerate(top)]
    if len(totals) > TOP:
        all_ = row[len(top) * k:]
        others = tuple(int(all_[j]) - sum(s[1][j] for s in series) for j in range(k))
        series.append((f"{len(totals) - TOP} others", others))
    return Chart(name, title, "stacked", tuple(p[0] for p in periods), tuple(series),
                 note="Escalations raised in each quarter.")


def open_over_time(db, partnership, now: datetime, months: int = 12) -> Chart:
    local = partnership.calendar.local(now).date()
    firsts = []
    d = date(local.year, local.month, 1)
    for _ in range(months):
        firsts.append(d)
        prev = d - timedelta(days=1)
        d = date(prev.year, prev.month, 1)
    firsts.reverse()
    points = [_local_midnight(partnership, f) for f in firsts[1:]] + [now]
    sums = [_n(sa.and_(_C.raised_at < t, sa.or_(_C.closed_at.is_(None), _C.closed_at >= t))) for t in points]
    row = db.execute(sa.select(*sums).where(_C.partnership == partnership.id, _C.raised_at < now)).one()
    labels = [f"{f:%b %Y}" for f in firsts]
    return Chart("open-over-time", "Open cases at the end of each month", "line", tuple(labels),
                 (("Open", tuple(int(v) for v in row)),), note="The last point is today.")


def _year(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=365), now


MAKERS = {  # name -> how to make it from (db, partnership, now)
    "resolved-by-stage": lambda db, p, now: resolved_at_stage(db, p, *_year(now)),
    "stage-days": lambda db, p, now: stage_days(db, p, *_year(now)),
    "categories": lambda db, p, now: by_quarter(db, p, _C.category, "Escalations by category, per quarter",
                                                "categories", quarters(p, now)),
    "agencies": lambda db, p, now: by_quarter(db, p, _C.raiser_agency, "Escalations by raising agency, per quarter",
                                              "agencies", quarters(p, now)),
    "open-over-time": lambda db, p, now: open_over_time(db, p, now),
}


def charts(session: Session, partnership, now: datetime) -> list[Chart]:
    """Every chart, in the order the Reports page and the digest show them."""
    return [make(session.connection(), partnership, now) for make in MAKERS.values()]


def chart(session: Session, partnership, now: datetime, name: str) -> Chart | None:
    make = MAKERS.get(name)
    return make(session.connection(), partnership, now) if make else None
