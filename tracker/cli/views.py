"""Plain-text views of cases for the command line."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from tracker.cases import record
from tracker.outgoing.letters import person, when
from tracker.storage.models import Case, Party


def case_list(session: Session, partnership, now: datetime, *, status: str | None = None,
              stage: str | None = None, overdue: bool = False) -> str:
    q = select(Case).where(Case.partnership == partnership.id).order_by(Case.id)
    if status:
        q = q.where(Case.status == status)
    if stage:
        q = q.where(Case.stage == stage)
    if overdue:
        q = q.where(Case.status == "open", Case.stage_due_at < now)
    rows = list(session.exec(q))
    if not rows:
        return "no cases"
    lines = [f"{'reference':<15} {'status':<9} {'stage':<14} {'due':<32} category"]
    for c in rows:
        late = "  OVERDUE" if c.status == "open" and c.stage_due_at < now else ""
        lines.append(f"{c.ref:<15} {c.status:<9} {c.stage:<14} {when(partnership, c.stage_due_at) + late:<32} {c.category}")
    return "\n".join(lines)


def timeline(session: Session, partnership, case: Case) -> str:
    people = list(session.exec(select(Party).where(Party.case_id == case.id).order_by(Party.id)))
    stage = partnership.policy.stage(case.stage)
    out = [
        f"{case.ref} — {case.status}, stage {case.stage} ({stage.name}), policy {case.policy}",
        f"client reference {case.client_reference} ({case.about}); category: {case.category}"
        + ("; IMMEDIATE RISK" if case.immediate_risk else ""),
        f"raised {when(partnership, case.raised_at)}; stage due {when(partnership, case.stage_due_at)}",
        "parties:",
    ]
    out += [f"  {p.role}{' (stage ' + p.stage + ')' if p.stage else ''}: {person(p)}" for p in people]
    out.append("record:")
    for e in record.events(session, case):
        local = partnership.calendar.local(e.at)
        out.append(f"  {e.seq:>3}  {local:%Y-%m-%d %H:%M}  [{e.stage}] {e.kind}: {e.summary}")
        if e.statement:
            out.append(f"       “{e.statement}”")
    return "\n".join(out)
