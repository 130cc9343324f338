"""Resolution records: the "Notification of an Escalation" columns, for the Board's annual
export, and the same without words for the weekly digest's CSV attachment.

Wiltshire's form asks for Date · Escalation stage · Name and agency of professionals
involved · Issue/concern · Record of discussions · Outcome · Date referred to the Board,
and the client anonymised: the client is named only by the agencies' reference (never in
these columns); the professionals are named once each with their agency, the issue is the
decision disputed, the record of discussions is every UPDATE and statement as written
(`escalations export --csv`, written for business support alone). The digest carries no
case content (no names, no words): its attachment has the agencies, the kind of
disagreement and how many discussions there were (`DIGEST_COLUMNS`).
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from tracker.digest.model import ResolutionRow
from tracker.stages.state import DISCUSSION_KINDS
from tracker.storage.models import Case, Event, Party

COLUMNS = (
    "Case reference", "Date raised", "Date resolved", "Escalation stage reached",
    "Agencies involved (raising; receiving)", "Name and agency of professionals involved", "Issue/concern",
    "Kind of disagreement", "Record of discussions", "Outcome", "Working days taken",
    "Policy timetable to that stage (working days)", "Date referred to the Board",
)
DIGEST_COLUMNS = (
    "Case reference", "Date raised", "Date resolved", "Escalation stage reached",
    "Agencies involved (raising; receiving)", "Kind of disagreement", "Discussions recorded", "Outcome",
    "Working days taken", "Policy timetable to that stage (working days)", "Date referred to the Board",
)
CLOSED = ("resolved", "withdrawn")
_C = Case.__table__.c
_E = Event.__table__.c
_P = Party.__table__.c


def timetable(policy) -> dict[tuple[str, bool], int]:
    """(stage key, immediate risk) -> the policy's working days from raising to that stage's end.

    Without immediate risk each stage has used its full time (Policy.cumulative); with it the
    case starts at the immediate-risk stage and each stage after is one more working day."""
    out = {(s.key, False): total for s, total in policy.cumulative()}
    start = policy.stages.index(policy.start_stage(True))
    out.update({(s.key, True): i - start for i, s in enumerate(policy.stages) if i >= start})
    return out


def closed_between(partnership, lo: datetime | None, hi: datetime | None) -> list:
    """Conditions for the partnership's closed cases with lo <= closed_at < hi."""
    conds = [_C.partnership == partnership.id, _C.status.in_(CLOSED)]
    if lo is not None:
        conds.append(_C.closed_at >= lo)
    if hi is not None:
        conds.append(_C.closed_at < hi)
    return conds


def closed_rows(session: Session, partnership, lo: datetime | None, hi: datetime | None) -> list[ResolutionRow]:
    """The closed cases in [lo, hi) as resolution rows, by closing time; four queries, no ORM objects."""
    conds = closed_between(partnership, lo, hi)
    cols = (_C.id, _C.ref, _C.raised_at, _C.closed_at, _C.stage, _C.raiser_agency, _C.other_agency,
            _C.category, _C.status, _C.referred_to_board_at, _C.immediate_risk, _C.decision_disputed,
            _C.discussions, _C.outcome)
    cases = session.connection().execute(sa.select(*cols).where(*conds).order_by(_C.closed_at, _C.id)).all()
    counts = _entry_counts(session, conds)
    people, said = _professionals(session, conds), _discussions(session, partnership, conds)
    cal, policy = partnership.calendar, partnership.policy
    table, names = timetable(policy), {s.key: s.name for s in policy.stages}
    local_date = lambda dt: cal.local(dt).date()  # noqa: E731
    return [ResolutionRow(
        ref=r.ref, raised=local_date(r.raised_at), closed=local_date(r.closed_at), stage=r.stage,
        stage_name=names.get(r.stage, r.stage), raiser_agency=r.raiser_agency, other_agency=r.other_agency,
        category=r.category, entries=counts.get(r.id, (0, 0))[0], replies=counts.get(r.id, (0, 0))[1],
        outcome=r.status, working_days=cal.working_days_between(r.raised_at, r.closed_at),
        timetable_days=table.get((r.stage, bool(r.immediate_risk))),
        referred=local_date(r.referred_to_board_at) if r.referred_to_board_at else None,
        immediate_risk=bool(r.immediate_risk), professionals=tuple(people.get(r.id, ())),
        issue=r.decision_disputed or "", outcome_text=r.outcome,
        discussions=((f"{local_date(r.raised_at).isoformat()}, at intake: {r.discussions}",) if r.discussions else ())
        + tuple(said.get(r.id, ()))) for r in cases]


def _professionals(session: Session, conds: list) -> dict[int, list[str]]:
    """case id -> each person once, "Name (Agency)" (the address where no name was given)."""
    q = (sa.select(_P.case_id, _P.email, _P.name, _P.agency).select_from(Case.__table__.join(
        Party.__table__, _P.case_id == _C.id)).where(*conds).order_by(_P.case_id, _P.id))
    out: dict[int, dict[str, str]] = {}
    for case_id, email, name, agency in session.connection().execute(q):
        out.setdefault(case_id, {}).setdefault(email, f"{name or email}" + (f" ({agency})" if agency else ""))
    return {case_id: list(people.values()) for case_id, people in out.items()}


def _discussions(session: Session, partnership, conds: list) -> dict[int, list[str]]:
    """case id -> every UPDATE and accepted statement, "date, who: words", in order."""
    names = (sa.select(_P.name).where(_P.case_id == _E.case_id, _P.email == _E.actor, _P.name.is_not(None))
             .limit(1).scalar_subquery())
    q = (sa.select(_E.case_id, _E.at, _E.actor, names, _E.statement)
         .select_from(Case.__table__.join(Event.__table__, _E.case_id == _C.id))
         .where(*conds, _E.kind.in_(DISCUSSION_KINDS), _E.statement.is_not(None)).order_by(_E.case_id, _E.seq))
    out: dict[int, list[str]] = {}
    for case_id, at, actor, name, statement in session.connection().execute(q):
        day = partnership.calendar.local(at).date().isoformat()
        out.setdefault(case_id, []).append(f"{day}, {name or actor}: {statement}")
    return out


def _entry_counts(session: Session, conds: list) -> dict[int, tuple[int, int]]:
    """case id -> (record entries, replies): mail in from the parties other than the intake."""
    reply = sa.and_(_E.inbound_id.is_not(None), _E.kind != "opened")
    q = (sa.select(_E.case_id, sa.func.count(), sa.func.sum(sa.case((reply, 1), else_=0)))
         .select_from(Case.__table__.join(Event.__table__, _E.case_id == _C.id))
         .where(*conds).group_by(_E.case_id))
    return {case_id: (n, int(r or 0)) for case_id, n, r in session.connection().execute(q)}


def export_rows(session: Session, partnership, start: date | None, end: date | None) -> list[ResolutionRow]:
    """Resolution records of cases closed from `start` to `end` inclusive (local dates; None is
    open-ended), for the Board's annual report: `escalations export --csv FILE --from --to`."""
    if start and end and end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    tz = partnership.calendar.tz
    lo = datetime(start.year, start.month, start.day, tzinfo=tz) if start else None
    after = end + timedelta(days=1) if end else None
    hi = datetime(after.year, after.month, after.day, tzinfo=tz) if after else None
    return closed_rows(session, partnership, lo, hi)


def csv_row(r: ResolutionRow) -> list[str]:
    agencies = f"{r.raiser_agency or 'not given'}; {r.other_agency or 'not given'}"
    outcome = f"{r.outcome}: {r.outcome_text}" if r.outcome_text else r.outcome
    return [r.ref, r.raised.isoformat(), r.closed.isoformat(), f"{r.stage} ({r.stage_name})", agencies,
            "; ".join(r.professionals), r.issue, r.category, "\n".join(r.discussions), outcome, str(r.working_days),
            "" if r.timetable_days is None else str(r.timetable_days),
            r.referred.isoformat() if r.referred else ""]


def digest_row(r: ResolutionRow) -> list[str]:
    """A resolution record without its words: what the weekly digest may carry."""
    agencies = f"{r.raiser_agency or 'not given'}; {r.other_agency or 'not given'}"
    return [r.ref, r.raised.isoformat(), r.closed.isoformat(), f"{r.stage} ({r.stage_name})", agencies,
            r.category, str(len(r.discussions)), r.outcome, str(r.working_days),
            "" if r.timetable_days is None else str(r.timetable_days),
            r.referred.isoformat() if r.referred else ""]


def resolution_csv(rows, words: bool = True) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads it as UTF-8), CRLF lines, header first:
    the form's fields (`words`), or the digest's columns without them. Cells that a
    spreadsheet would run as a formula are prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS if words else DIGEST_COLUMNS)
    writer.writerows([_cell(v) for v in (csv_row(r) if words else digest_row(r))] for r in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

