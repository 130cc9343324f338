"""A case as the stage machine sees it, read from its rows; its people as rows again."""
from __future__ import annotations

from types import SimpleNamespace

from sqlmodel import Session, select

from tracker.cases import record
from tracker.stages.state import DECIDED, CaseState, Person
from tracker.storage.models import Case, Party


def people_of(session: Session, case: Case) -> tuple[Person, ...]:
    rows = session.exec(select(Party).where(Party.case_id == case.id).order_by(Party.id))
    return tuple(Person(p.role, p.side, p.email, p.stage, p.name, p.title, p.agency, bool(p.bounced))
                 for p in rows)


def state_of(case: Case | SimpleNamespace, people: tuple[Person, ...], record_problem: str | None = None) -> CaseState:
    return CaseState(**{name: getattr(case, name) for name in DECIDED}, people=people, record_problem=record_problem)


def verified_state(session: Session, case: Case) -> CaseState:
    """The case as the stage machine may act on it: read from its rows, and checked against
    its record (tracker/cases/record.py), so who may move it and where its mail goes are
    what the record vouches for. A record that does not verify is named in the state; the
    machine then changes nothing."""
    people = people_of(session, case)
    return state_of(case, people, record.verify(session, case, people).problem)


def party_rows(case_id: int, people: tuple[Person, ...]) -> list[dict]:
    return [dict(case_id=case_id, role=p.role, side=p.side, email=p.email, name=p.name, title=p.title,
                 agency=p.agency, stage=p.stage, bounced=p.bounced) for p in people]
