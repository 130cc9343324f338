"""The case record as a document an agency files on the individual's record."""
from __future__ import annotations

import html

from mailer.compose import Attachment
from tracker.cases import record
from tracker.outgoing.letters import person, when
from tracker.stages.state import Person
from tracker.storage.models import Case


def case_record(session, partnership, case: Case, parties: tuple[Person, ...]) -> bytes:
    """The whole case as one HTML document, with the record's integrity check."""
    e = html.escape
    check = record.verify(session, case)
    rows = "".join(
        f"<tr><td>{ev.seq}</td><td>{e(when(partnership, ev.at))}</td><td>{e(ev.stage)}</td>"
        f"<td>{e(ev.kind)}</td><td>{e(ev.actor)}</td><td>{e(ev.summary)}"
        + (f"<br><em>{e(ev.statement)}</em>" if ev.statement else "") + "</td></tr>"
        for ev in record.events(session, case))
    people = "".join(f"<li>{e(p.role.replace('_', ' '))}{' (stage ' + e(p.stage) + ')' if p.stage else ''}: "
                     f"{e(person(p))}</li>" for p in parties)
    facts = [("Status", case.status), ("Stage", case.stage), ("Policy", partnership.policy.title),
             ("Client reference", case.client_reference), ("About", case.about),
             ("Immediate risk", "yes" if case.immediate_risk else "no"), ("Category", case.category),
             ("Raised", when(partnership, case.raised_at)), ("Decision disputed", case.decision_disputed),
             ("Date of decision", case.decision_date.isoformat()), ("Reasons", case.reasons),
             ("Outcome sought", case.outcome_sought), ("Discussions so far", case.discussions or ""),
             ("Agreed outcome", case.outcome or ""), ("Closed", when(partnership, case.closed_at))]
    table = "".join(f"<tr><th align='left'>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in facts)
    if check.ok:
        integrity = (f"intact: every entry's hash matches, and the record covers the case as it is "
                     f"(head {record.head_text(case.ref, check.entries, check.head)})")
        warning = ""
    else:
        integrity = f"RECORD ALTERED: {check.problem}"
        warning = (f"<p style=\"border: 3px solid #b00; padding: 8px; font-weight: bold;\">RECORD ALTERED: "
                   f"{e(check.problem)}. What follows is what the database holds now, not what was recorded.</p>")
    doc = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Case record {e(case.ref)}</title></head><body style="font-family: Arial, sans-serif;">
{warning}<h1>Case record {e(case.ref)}</h1><p>{e(partnership.name)}</p>
<table border="1" cellpadding="4" style="border-collapse: collapse;">{table}</table>
<h2>People</h2><ul>{people}</ul>
<h2>Record</h2><table border="1" cellpadding="4" style="border-collapse: collapse;">
<tr><th>#</th><th>When</th><th>Stage</th><th>What</th><th>Who</th><th>Details</th></tr>{rows}</table>
<p>Record integrity ({check.entries} entries): {e(integrity)}.</p></body></html>"""
    return doc.encode("utf-8")


def case_record_attachment(session, partnership, case: Case, parties: tuple[Person, ...]) -> Attachment:
    return Attachment(f"{case.ref}-record.html", "text/html", case_record(session, partnership, case, parties))
