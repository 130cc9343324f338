"""One case as the Case page shows it, and the Today page's lists: plain values from the
service's own helpers (the record and its check, the policy's deadlines, the outbox's mail).

Mail bodies are text: the plain part, or the HTML part turned into text by the parser, and
the page escapes them like any other value (never rendered as HTML).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from mailer.compose import Composer
from parser.html import html_to_text
from parser.mime import read_mail
from tracker.cases import record
from tracker.cases.state import people_of
from tracker.desk.signin.access import Viewer
from tracker.desk.data import LIST_COLUMNS, case_row, visible
from tracker.outgoing.documents import case_record
from tracker.outgoing.letters import person, when
from tracker.storage.models import Case, Event, InboundMessage, OutboxMail, Party
from tracker.outgoing.outbox import bytes_of
from tracker.policy.model import deadlines

BODY_LIMIT = 20_000  # characters of one mail shown; the rest is in the case document


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    stage: str
    kind: str
    actor: str
    summary: str
    statement: str | None
    mail_title: str  # "Mail received" / "Mail sent to …", or "" when the entry has none
    mail_text: str


def mail_text(raw: bytes | None) -> str:
    if not raw:
        return ""
    mail = read_mail(raw)
    text = mail.plain.strip() or html_to_text(mail.html).strip()
    return text[:BODY_LIMIT] + ("\n[… shortened: the case document has it all]" if len(text) > BODY_LIMIT else "")


def timeline(session: Session, partnership, composer: Composer, case: Case) -> list[Entry]:
    """The record's entries in order, each with the mail it is about (if any) as text."""
    events = record.events(session, case)
    inbound = {i.id: i for i in session.execute(sa.select(InboundMessage).where(
        InboundMessage.id.in_([e.inbound_id for e in events if e.inbound_id]))).scalars()}
    outbound = {o.id: o for o in session.execute(sa.select(OutboxMail).where(
        OutboxMail.id.in_([e.outbox_id for e in events if e.outbox_id]))).scalars()}
    out = []
    for e in events:
        title, text = "", ""
        if e.inbound_id in inbound:
            title, text = "Mail received", mail_text(inbound[e.inbound_id].raw)
        elif e.outbox_id in outbound:
            o = outbound[e.outbox_id]
            title = f"Mail {'sent' if o.status == 'sent' else o.status} to {o.recipient}"
            text = mail_text(_outgoing_bytes(composer, o))
        out.append(Entry(e.seq, f"{partnership.calendar.local(e.at):%d %b %Y %H:%M}", e.stage, e.kind, e.actor,
                         e.summary, e.statement, title, text))
    return out


def _outgoing_bytes(composer: Composer, row: OutboxMail) -> bytes | None:
    try:
        return bytes_of(composer, row) if (row.raw or row.letter) else None
    except Exception:  # noqa: BLE001 - a letter that cannot be composed is shown as such
        return b"(this mail could not be composed; business support was told)"


def parties_by_stage(session: Session, case: Case) -> list[tuple[str, list[dict]]]:
    people = list(session.execute(sa.select(Party).where(Party.case_id == case.id).order_by(Party.id)).scalars())
    groups: dict[str, list[dict]] = {}
    for p in people:
        label = f"Stage {p.stage}" if p.stage else "Throughout (named in the escalation)"
        groups.setdefault(label, []).append({"role": p.role.replace("_", " "), "who": person(p)})
    return list(groups.items())


def stages(partnership, case: Case, now: datetime) -> list[dict]:
    """Each stage of the policy: its planned due time, and where the case is against it."""
    keys = [s.key for s in partnership.policy.stages]
    here = keys.index(case.stage) if case.stage in keys else -1
    rows = []
    for i, (s, due) in enumerate(deadlines(partnership.policy, partnership.calendar, case.raised_at,
                                           immediate_risk=case.immediate_risk)):
        state = "passed" if i < here else "later"
        if s.key == case.stage:
            due = case.stage_due_at
            state = "current" if case.status == "open" else case.status
        late = case.status == "open" and s.key == case.stage and due < now
        rows.append({"key": s.key, "name": s.name, "due": when(partnership, due), "state": state, "late": late})
    return rows


def steps(partnership, case: Case, now: datetime) -> list[dict]:
    """The current stage's steps with their due times (where a step runs from the stage's
    start or the step before); a step past its time on an open case is marked late."""
    cal, start = partnership.calendar, case.stage_started_at
    rows, previous = [], start
    for step in partnership.policy.stage(case.stage).steps:
        anchor = {"stage_start": start, "previous_step": previous}.get(step.counts_from)
        due = None
        if anchor is not None and step.hours is not None:
            due = anchor + timedelta(hours=step.hours)
        elif anchor is not None and step.working_days is not None:
            due = cal.due(anchor, step.working_days)
        previous = due or previous
        rows.append({"name": step.name, "what": step.description, "due": when(partnership, due) if due else "",
                     "late": bool(due and case.status == "open" and due < now)})
    return rows


def verification(session: Session, case: Case):
    return record.verify(session, case)


def document(session: Session, partnership, case: Case) -> bytes:
    return case_record(session, partnership, case, people_of(session, case))


# --- Today ----------------------------------------------------------------------------------

TODAY_LIMIT = 20


def _listed(session: Session, partnership, conds, now: datetime, order) -> tuple[list, int]:
    db = session.connection()
    total = db.execute(sa.select(sa.func.count()).select_from(Case).where(*conds)).scalar_one()
    rows = db.execute(sa.select(*LIST_COLUMNS).where(*conds).order_by(order, Case.id).limit(TODAY_LIMIT))
    return [case_row(partnership, r, now) for r in rows], total


def today(session: Session, partnership, viewer: Viewer, now: datetime) -> dict:
    """Open cases by stage, overdue, due in the next five working days, routing requests."""
    mine = visible(viewer, partnership.id, indexed=False)  # the open cases' own index serves best
    is_open = sa.and_(mine, Case.status == "open")
    db = session.connection()
    overdue_n = sa.func.coalesce(sa.func.sum(sa.case((Case.stage_due_at < now, 1), else_=0)), 0)
    rows = db.execute(sa.select(Case.stage, sa.func.count(), overdue_n).where(is_open).group_by(Case.stage)).all()
    counts, late = {k: n for k, n, _ in rows}, {k: int(o) for k, _, o in rows}
    by_stage = [{"key": s.key, "name": s.name, "open": counts.get(s.key, 0), "overdue": late.get(s.key, 0)}
                for s in partnership.policy.stages]
    horizon = partnership.calendar.due(now, 5)
    overdue = _listed(session, partnership, [is_open, Case.stage_due_at < now], now, Case.stage_due_at)
    soon = _listed(session, partnership, [is_open, Case.stage_due_at >= now, Case.stage_due_at <= horizon], now,
                   Case.stage_due_at)
    waiting = sa.exists().where(Event.case_id == Case.id, Event.kind == "needs_routing", Event.stage == Case.stage)
    routed = sa.exists().where(Party.case_id == Case.id, Party.stage == Case.stage)
    routing = _listed(session, partnership, [is_open, waiting, ~routed], now, Case.stage_due_at)
    return {"by_stage": by_stage, "open_total": sum(counts.values()), "overdue": overdue, "soon": soon,
            "routing": routing, "horizon": when(partnership, horizon)}
