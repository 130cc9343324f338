"""The digest built with SQL aggregates: counts are GROUP BYs and conditional sums over the
case table; rows are fetched only for the listed open cases (capped), the week's closures
(for the resolution records) and the flagged cases. No Case objects are loaded.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

import sqlalchemy as sa
from sqlmodel import Session

from tracker.digest.model import (CaseMark, Count, Digest, OpenCase, ResolutionRow, StageOpen,
                                  StageResolutions, TrendWeek)
from tracker.cases.record import head_text
from tracker.digest.records import closed_rows
from tracker.digest.weeks import iso_week, scheduled_for, week_bounds, week_of
from tracker.storage.models import Case, InboundMessage

OPEN_LIMIT = 50  # open cases listed one by one, the most overdue first
MARK_LIMIT = 50  # immediate-risk and flagged cases listed
LABEL_LIMIT = 20  # categories or agencies listed before the rest are summed into one line
TREND_WEEKS = 12
RECENTLY_CLOSED = timedelta(weeks=4)  # record heads listed before the week too: a digest that did not go

_C = Case.__table__.c
_I = InboundMessage.__table__.c


def _n(cond) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)


def _between(col, lo: datetime, hi: datetime):
    return sa.and_(col >= lo, col < hi)


def build_digest(session: Session, partnership, week: str, now: datetime, *, late: bool = False) -> Digest:
    """The digest of `week` ("2026-W48") for `partnership`, open cases as at `now`."""
    lo, hi = week_bounds(partnership, week)
    first, next_monday = iso_week(week)
    db = session.connection()
    mine = _C.partnership == partnership.id
    counts = _summary(db, mine, lo, hi, now)
    listed = _open_cases(db, partnership, mine, now)
    records = tuple(closed_rows(session, partnership, lo, hi))
    irisk, irisk_more = _marks(db, partnership, mine, _C.immediate_risk.is_(True),
                               sa.or_(_C.status == "open", _between(_C.raised_at, lo, hi)))
    flag = sa.or_(_C.policy_gap_flagged.is_(True), _C.debrief_requested.is_(True),
                  _C.referred_to_board_at.is_not(None))
    recent = sa.or_(_C.status == "open", _between(_C.closed_at, lo, hi), _between(_C.referred_to_board_at, lo, hi))
    flagged, flagged_more = _marks(db, partnership, mine, flag, recent)
    labels = {col: _counts(db, mine, col, lo, hi) for col in (_C.category, _C.raiser_agency, _C.other_agency)}
    return Digest(
        partnership=partnership.name, policy=partnership.policy.title, week=week, first_day=first,
        last_day=next_monday - timedelta(days=1), now=partnership.calendar.local(now), complete=now >= hi,
        scheduled_for=scheduled_for(partnership, week), late=late, **counts,
        quarantined_outside=_quarantined(db, partnership, lo, hi), open_cases=listed,
        open_unlisted=counts["open_now"] - len(listed),
        open_unlisted_overdue=counts["overdue_now"] - sum(c.overdue for c in listed),
        open_by_stage=_open_by_stage(db, partnership, mine, now),
        resolutions_by_stage=_by_stage(partnership.policy, records), records=records,
        by_category=labels[_C.category], by_raising_agency=labels[_C.raiser_agency],
        by_receiving_agency=labels[_C.other_agency], immediate_risk=irisk, immediate_risk_unlisted=irisk_more,
        flagged=flagged, flagged_unlisted=flagged_more, **_flag_counts(db, mine, flag, recent, lo, hi),
        trend=_trend(db, partnership, mine, week), heads=_heads(db, mine, lo),
    )



def _heads(db, mine, lo: datetime) -> tuple[str, ...]:
    """The record head of every open case, and of those closed in the week or the four before."""
    q = (sa.select(_C.ref, _C.record_seq, _C.record_head)
         .where(mine, _C.record_seq > 0, sa.or_(_C.status == "open", _C.closed_at >= lo - RECENTLY_CLOSED))
         .order_by(_C.ref))
    return tuple(head_text(ref, seq, digest) for ref, seq, digest in db.execute(q))


def _summary(db, mine, lo, hi, now) -> dict[str, int]:
    in_week = lambda col: _between(col, lo, hi)  # noqa: E731
    q = sa.select(
        _n(in_week(_C.raised_at)).label("opened"),
        _n(sa.and_(_C.status == "resolved", in_week(_C.closed_at))).label("resolved"),
        _n(sa.and_(_C.status == "withdrawn", in_week(_C.closed_at))).label("withdrawn"),
        _n(sa.and_(_C.immediate_risk.is_(True), in_week(_C.raised_at))).label("immediate_risk_opened"),
        _n(_C.status == "open").label("open_now"),
        _n(sa.and_(_C.status == "open", _C.stage_due_at < now)).label("overdue_now"),
    ).where(mine)
    return {k: int(v) for k, v in db.execute(q).one()._mapping.items()}


def _open_cases(db, partnership, mine, now: datetime) -> tuple[OpenCase, ...]:
    cols = (_C.ref, _C.stage, _C.category, _C.raiser_agency, _C.other_agency, _C.immediate_risk,
            _C.policy_gap_flagged, _C.debrief_requested, _C.raised_at, _C.stage_due_at)
    q = (sa.select(*cols).where(mine, _C.status == "open")
         .order_by(_C.stage_due_at, _C.id).limit(OPEN_LIMIT))
    cal, names = partnership.calendar, _stage_names(partnership.policy)
    return tuple(OpenCase(
        ref=r.ref, stage=r.stage, stage_name=names.get(r.stage, r.stage), category=r.category,
        raiser_agency=r.raiser_agency, other_agency=r.other_agency, immediate_risk=bool(r.immediate_risk),
        policy_gap=bool(r.policy_gap_flagged), debrief=bool(r.debrief_requested),
        raised=cal.local(r.raised_at).date(), days_open=cal.working_days_between(r.raised_at, now),
        due_at=cal.local(r.stage_due_at), **_overdue(cal, r.stage_due_at, now)) for r in db.execute(q))


def _overdue(cal, due: datetime, now: datetime) -> dict:
    """Working days past `due`; hours too when that is less than one working day."""
    if now <= due:
        return {"overdue_days": None, "overdue_hours": None}
    days = cal.working_days_between(due, now)
    hours = int((now - due).total_seconds() // 3600) if days < 1 else None
    return {"overdue_days": days, "overdue_hours": hours}


def _stage_names(policy) -> dict[str, str]:
    return {s.key: s.name for s in policy.stages}


def _stage_order(policy, keys) -> list[str]:
    known = [s.key for s in policy.stages]
    return [k for k in known if k in keys] + sorted(k for k in keys if k not in known)


def _open_by_stage(db, partnership, mine, now) -> tuple[StageOpen, ...]:
    q = (sa.select(_C.stage, sa.func.count(), _n(_C.stage_due_at < now))
         .where(mine, _C.status == "open").group_by(_C.stage))
    rows = {stage: (n, late) for stage, n, late in db.execute(q)}
    names = _stage_names(partnership.policy)
    return tuple(StageOpen(k, names.get(k, k), rows[k][0], int(rows[k][1]))
                 for k in _stage_order(partnership.policy, rows))


def _by_stage(policy, records: tuple[ResolutionRow, ...]) -> tuple[StageResolutions, ...]:
    names = _stage_names(policy)
    out = []
    for key in _stage_order(policy, {r.stage for r in records}):
        rows = [r for r in records if r.stage == key]
        done = [r for r in rows if r.outcome == "resolved"]
        days = [r.working_days for r in done]
        out.append(StageResolutions(
            key, names.get(key, key), len(done), len(rows) - len(done),
            next((r.timetable_days for r in rows if not r.immediate_risk), None),
            median(days) if days else None, max(days) if days else None,
            sum(1 for r in done if r.within_timetable)))
    return tuple(out)


def _counts(db, mine, col, lo, hi) -> tuple[Count, ...]:
    """Raised in the week, closed in the week and open now, per value of `col`; the most
    active first, LABEL_LIMIT of them, the rest summed into one line."""
    closed = sa.and_(_C.status != "open", _between(_C.closed_at, lo, hi))
    q = (sa.select(col, _n(_between(_C.raised_at, lo, hi)), _n(closed), _n(_C.status == "open"))
         .where(mine, sa.or_(_C.status == "open", _between(_C.raised_at, lo, hi), closed)).group_by(col))
    rows = sorted(((label or "not given", int(a), int(b), int(c)) for label, a, b, c in db.execute(q)),
                  key=lambda r: (-r[3], -r[1], -r[2], r[0]))
    out = [Count(*r) for r in rows[:LABEL_LIMIT]]
    rest = rows[LABEL_LIMIT:]
    if rest:
        out.append(Count(f"{len(rest)} others", *(sum(r[i] for r in rest) for i in (1, 2, 3))))
    return tuple(out)


def _marks(db, partnership, mine, which, when) -> tuple[tuple[CaseMark, ...], int]:
    cols = (_C.ref, _C.status, _C.stage, _C.raised_at, _C.closed_at, _C.policy_gap_flagged,
            _C.debrief_requested, _C.referred_to_board_at)
    q = sa.select(*cols).where(mine, which, when).order_by(_C.raised_at, _C.id).limit(MARK_LIMIT)
    total = db.execute(sa.select(sa.func.count()).where(mine, which, when)).scalar_one()
    day = lambda dt: partnership.calendar.local(dt).date() if dt else None  # noqa: E731
    marks = tuple(CaseMark(r.ref, r.status, r.stage, day(r.raised_at), day(r.closed_at),
                           bool(r.policy_gap_flagged), bool(r.debrief_requested), day(r.referred_to_board_at))
                  for r in db.execute(q))
    return marks, total - len(marks)


def _flag_counts(db, mine, flag, recent, lo, hi) -> dict[str, int]:
    q = sa.select(_n(_C.policy_gap_flagged.is_(True)), _n(_C.debrief_requested.is_(True)),
                  _n(_between(_C.referred_to_board_at, lo, hi))).where(mine, flag, recent)
    gaps, debriefs, referred = db.execute(q).one()
    return {"policy_gaps": int(gaps), "debriefs": int(debriefs), "referred_in_week": int(referred)}


def _quarantined(db, partnership, lo, hi) -> int:
    """Mail from outside the partner domains in the week, to this partnership: a count only."""
    q = sa.select(sa.func.count()).where(_I.partnership == partnership.id, _I.reason.like("outside_partners%"),
                                         _between(_I.received_at, lo, hi))
    return db.execute(q).scalar_one()


def _trend(db, partnership, mine, week: str) -> tuple[TrendWeek, ...]:
    """TREND_WEEKS weeks ending with `week`, in one scan: each sum is bounded by local midnights."""
    monday, _ = iso_week(week)
    weeks = [week_of(monday - timedelta(weeks=i)) for i in reversed(range(TREND_WEEKS))]
    bounds = [week_bounds(partnership, w) for w in weeks]
    sums = []
    for lo, hi in bounds:
        sums += [_n(_between(_C.raised_at, lo, hi)),
                 _n(sa.and_(_C.status == "resolved", _between(_C.closed_at, lo, hi))),
                 _n(sa.and_(_C.status == "withdrawn", _between(_C.closed_at, lo, hi))),
                 _n(sa.and_(_C.raised_at < hi, sa.or_(_C.closed_at.is_(None), _C.closed_at >= hi)))]
    start, end = bounds[0][0], bounds[-1][1]
    live = sa.and_(_C.raised_at < end, sa.or_(_C.closed_at.is_(None), _C.closed_at >= start))
    row = db.execute(sa.select(*sums).where(mine, live)).one()
    return tuple(TrendWeek(w, *(int(v) for v in row[4 * i:4 * i + 4])) for i, w in enumerate(weeks))
