"""Everything the desk reads from the database, as plain values, each read limited to the
cases the viewer may see (`visible`). The desk's one door into the service's tables: the
other desk modules import tracker's models and helpers only through here (and reports.py).

    with Session(engine) as s:
        rows, total = case_rows(s, partnership, viewer, Filters(status="open"), now)
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm
from sqlmodel import Session

from parser.model import CATEGORIES
from tracker.desk.signin.access import Viewer
from tracker.outgoing.letters import when
from tracker.storage.models import Case, InboundMessage, OutboxMail, Party

PAGE = 50
REF_START = re.compile(r"ESC-\d{4}(-\d*)?")
SORTS = {"due": Case.stage_due_at, "raised": Case.raised_at, "ref": Case.id, "stage": Case.stage,
         "status": Case.status, "category": Case.category}
STATUSES = ("open", "resolved", "withdrawn")
_C = Case.__table__.c


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def visible(viewer: Viewer, pid: str, indexed: bool = True, table=Case):
    """The SQL condition for the cases `viewer` may see in partnership `pid`.

    `indexed` False writes the partnership test so that no index is chosen for it: in a
    deployment of one partnership it matches every case, and SQLite (without statistics)
    would otherwise walk an index that starts with it for a search or a sort that its own
    index serves far better (measured in bench/bench_desk.py)."""
    mine = (table.partnership if indexed else sa.func.coalesce(table.partnership, "")) == pid
    if viewer.sees_all:
        return mine
    ways = []
    if viewer.lead_domains:
        at = sa.or_(*(Party.email.like(f"%{mark}{d}", escape="\\")
                      for d in viewer.lead_domains for mark in ("@", ".")))
        ways.append(table.id.in_(sa.select(Party.case_id).where(at)))
    if "party" in viewer.roles:
        ways.append(table.id.in_(sa.select(Party.case_id).where(Party.email == viewer.email)))
    return sa.and_(mine, sa.or_(*ways)) if ways else sa.false()


def is_party(session: Session, pid: str, email: str) -> bool:
    q = (sa.select(Party.id).join(Case, Case.id == Party.case_id)
         .where(Case.partnership == pid, Party.email == email.strip().lower()).limit(1))  # stored lower-case
    return session.execute(q).first() is not None


@dataclass(frozen=True)
class Filters:
    """The Cases page's view: filters, search text, sort and page. From a POSTed form only:
    search text is case content and never goes into a URL."""

    status: str = ""
    stage: str = ""
    agency: str = ""
    category: str = ""
    overdue: bool = False
    raised_from: date | None = None
    raised_to: date | None = None
    search: str = ""
    sort: str = "due"
    descending: bool = False
    page: int = 1

    @classmethod
    def from_form(cls, form) -> "Filters":
        def day(name):
            try:
                return date.fromisoformat(form.get(name, "").strip()) if form.get(name, "").strip() else None
            except ValueError:
                return None
        try:
            page = max(1, min(int(form.get("page", "1")), 100_000))
        except ValueError:
            page = 1
        sort = form.get("sort", "due")
        return cls(status=form.get("status", "") if form.get("status") in STATUSES else "",
                   stage=form.get("stage", "")[:40], agency=form.get("agency", "")[:200],
                   category=form.get("category", "")[:200], overdue=form.get("overdue") == "yes",
                   raised_from=day("raised_from"), raised_to=day("raised_to"),
                   search=" ".join(form.get("search", "").split())[:200],
                   sort=sort if sort in SORTS else "due", descending=form.get("order") == "desc", page=page)

    def at_page(self, page: int) -> "Filters":
        return replace(self, page=page)


def _where(f: Filters, partnership, viewer: Viewer, now: datetime, dialect: str) -> list:
    tz = partnership.calendar.tz
    # SQLite has no statistics: its partnership index is worth using only beside a status or
    # an agency (see `visible`); PostgreSQL's planner knows better by itself.
    indexed = dialect == "postgresql" or bool((f.status or f.agency) and not f.search)
    conds = [visible(viewer, partnership.id, indexed=indexed)]
    if f.status:
        conds.append(Case.status == f.status)
    if f.stage:
        conds.append(Case.stage == f.stage)
    if f.category:
        conds.append(Case.category == f.category)
    if f.agency:
        conds.append(sa.or_(Case.raiser_agency == f.agency, Case.other_agency == f.agency))
    if f.overdue:
        conds += [Case.status == "open", Case.stage_due_at < now]
    if f.raised_from:
        conds.append(Case.raised_at >= datetime.combine(f.raised_from, time(), tz))
    if f.raised_to:
        conds.append(Case.raised_at < datetime.combine(f.raised_to + timedelta(days=1), time(), tz))
    if f.search:
        conds.append(_search(f.search, dialect))
    return conds


def _contains(col, pattern: str, dialect: str):
    """Case-insensitive LIKE: SQLite's LIKE already ignores case (for ASCII letters), and
    lower() on both sides made a search three times slower; PostgreSQL has ILIKE."""
    return col.like(pattern, escape="\\") if dialect == "sqlite" else col.ilike(pattern, escape="\\")


def _search(text: str, dialect: str):
    """A case reference (its start), a client reference, an agency, or a person's name or
    address. Written as `id IN (one scan of the cases UNION one of the parties)`: the
    planner then looks the few matches up by key instead of walking an index for every case."""
    ref = text.strip().upper()
    if REF_START.fullmatch(ref):  # the start of a case reference: a range of its unique index
        return sa.and_(Case.ref >= ref, Case.ref < ref + "\x7f")
    pattern = _like(text)
    # One narrow scan per column, each of an index holding it where there is one, rather than
    # one scan of the whole (wide) case table.
    scans = [sa.select(Case.id).where(_contains(col, pattern, dialect))
             for col in (Case.client_reference, Case.raiser_agency, Case.other_agency)]
    scans.append(sa.select(Party.case_id).where(sa.or_(_contains(Party.name, pattern, dialect),
                                                       _contains(Party.email, pattern, dialect))))
    return Case.id.in_(sa.union(*scans))


@dataclass(frozen=True)
class CaseRow:
    ref: str
    status: str
    stage: str
    stage_name: str
    category: str
    raiser_agency: str
    other_agency: str
    raised: str
    due: str
    overdue: bool
    immediate_risk: bool


LIST_COLUMNS = (_C.ref, _C.status, _C.stage, _C.category, _C.raiser_agency, _C.other_agency, _C.raised_at,
                _C.stage_due_at, _C.immediate_risk)


def case_row(partnership, r, now: datetime) -> CaseRow:
    """A row of LIST_COLUMNS as the desk shows it."""
    names = {s.key: s.name for s in partnership.policy.stages}
    local = partnership.calendar.local
    return CaseRow(r.ref, r.status, r.stage, names.get(r.stage, r.stage), r.category, r.raiser_agency or "",
                   r.other_agency or "", f"{local(r.raised_at):%d %b %Y}", when(partnership, r.stage_due_at),
                   r.status == "open" and r.stage_due_at < now, bool(r.immediate_risk))


def case_rows(session: Session, partnership, viewer: Viewer, f: Filters, now: datetime,
              limit: int | None = PAGE) -> tuple[list[CaseRow], int]:
    """One page of the view and how many cases it holds in all (`limit` None: every row).

    A search's total comes with its page (count(*) OVER ()), so it scans once, not twice;
    without search text a separate count is cheaper (indexes), and the page follows the
    sort's index instead of sorting every row."""
    db = session.connection()
    conds = _where(f, partnership, viewer, now, db.dialect.name)
    col = SORTS[f.sort]
    order = [col.desc() if f.descending else col, Case.id.desc() if f.descending else Case.id]
    if not f.search or limit is None:
        q = sa.select(*LIST_COLUMNS).where(*conds).order_by(*order)
        total = db.execute(sa.select(sa.func.count()).select_from(Case).where(*conds)).scalar_one()
        q = q if limit is None else q.limit(limit).offset((f.page - 1) * limit)
        return [case_row(partnership, r, now) for r in db.execute(q)], total
    q = sa.select(*LIST_COLUMNS, sa.func.count().over().label("total")).where(*conds).order_by(*order)
    if limit is not None:
        q = q.limit(limit).offset((f.page - 1) * limit)
    rows = db.execute(q).all()
    if rows:
        return [case_row(partnership, r, now) for r in rows], rows[0].total
    if f.page > 1 and limit is not None:  # past the last page: how many there are, for the page links
        return [], db.execute(sa.select(sa.func.count()).select_from(Case).where(*conds)).scalar_one()
    return [], 0


CSV_HEAD = ("Case", "Status", "Stage", "Stage name", "Category", "Raising agency", "Receiving agency", "Raised",
            "Stage due", "Overdue", "Immediate risk")


def case_csv(rows: list[CaseRow]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_HEAD)
    for r in rows:
        w.writerow([_cell(v) for v in (r.ref, r.status, r.stage, r.stage_name, r.category, r.raiser_agency,
                                       r.other_agency, r.raised, r.due, "yes" if r.overdue else "",
                                       "yes" if r.immediate_risk else "")])
    return out.getvalue().encode("utf-8-sig")  # with a BOM, so Excel reads it as UTF-8


def _cell(v: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v


def choices(session: Session, partnership, viewer: Viewer) -> dict[str, list[str]]:
    """The values the filters offer: stages from the policy, the contract's categories, the
    agencies named on cases (read from their indexes)."""
    db = session.connection()
    named = set()
    for col in (Case.raiser_agency, Case.other_agency):
        # Every agency named in the database (the column's index alone), kept where one of
        # this viewer's cases names it (each answered by its first row).
        every = sa.select(col.label("agency")).where(col.is_not(None)).distinct().subquery()
        case = sa.orm.aliased(Case)
        seen = sa.select(case.id).where(visible(viewer, partnership.id, table=case),
                                        getattr(case, col.key) == every.c.agency).limit(1)
        named |= {a for (a,) in db.execute(sa.select(every.c.agency).where(seen.exists()))}
    return {"stages": [s.key for s in partnership.policy.stages], "categories": list(CATEGORIES),
            "agencies": sorted(named), "statuses": list(STATUSES)}


def find_case(session: Session, partnership, viewer: Viewer, ref: str) -> Case | None:
    """The case, if it exists and the viewer may see it; None alike for both, so a URL tells
    nobody whether a case they may not see exists."""
    q = sa.select(Case).where(Case.ref == ref, visible(viewer, partnership.id))
    return session.execute(q).scalars().first()


def quarantined(session: Session, pid: str, since: datetime, limit: int = 20) -> tuple[list, int]:
    q = sa.select(InboundMessage.received_at, InboundMessage.kind, InboundMessage.reason, InboundMessage.sender)
    where = (InboundMessage.partnership == pid, InboundMessage.disposition == "quarantine",
             InboundMessage.received_at >= since)
    db = session.connection()
    total = db.execute(sa.select(sa.func.count()).select_from(InboundMessage).where(*where)).scalar_one()
    return list(db.execute(q.where(*where).order_by(InboundMessage.received_at.desc()).limit(limit))), total


def failed_mail(session: Session, pid: str, limit: int = 20) -> tuple[list, int]:
    where = (OutboxMail.partnership == pid, OutboxMail.status == "failed")
    db = session.connection()
    total = db.execute(sa.select(sa.func.count()).select_from(OutboxMail).where(*where)).scalar_one()
    q = (sa.select(OutboxMail.created_at, OutboxMail.kind, OutboxMail.recipient, OutboxMail.case_id,
                   OutboxMail.last_error, Case.ref).outerjoin(Case, Case.id == OutboxMail.case_id)
         .where(*where).order_by(OutboxMail.id.desc()).limit(limit))
    return list(db.execute(q)), total
