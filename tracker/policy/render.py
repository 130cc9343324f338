"""Policies as text and JSON: `escalations policies` and `escalations deadlines`."""
from __future__ import annotations

from datetime import datetime

from tracker.policy.build import PRESETS
from tracker.policy.calendar import WorkingCalendar
from tracker.policy.model import Policy, Step, deadlines


def _local_iso(calendar: WorkingCalendar, dt: datetime) -> str:
    """ISO 8601 with the offset of the partnership's zone at that moment (+01:00 in summer in
    London): the same instant as UTC, written as people there read their clocks."""
    return calendar.local(dt).isoformat()


def deadlines_json(policy: Policy, calendar: WorkingCalendar, raised: datetime) -> dict:
    """What `escalations deadlines` prints. A stage outside the chain (Wolverhampton's
    exceptional) is due its own working days after the stage before it.

    {"policy": "wolverhampton", "raised": "2026-12-24T16:00:00+00:00",
     "stages": [{"stage": "1", "name": "Practitioners", "due": "2027-01-05T17:00:00+00:00"}, ...]}
    """
    return {"policy": policy.name, "raised": _local_iso(calendar, raised),
            "stages": [{"stage": s.key, "name": s.name, "due": _local_iso(calendar, due)}
                       for s, due in deadlines(policy, calendar, raised)]}


# -- text ------------------------------------------------------------------------------------------
def _limit(step: Step) -> str:
    if step.hours is not None:
        return f"{step.hours} hours"
    return "" if step.working_days is None else f"{step.working_days} WD"


_FROM = {"stage_start": "from the stage's start", "previous_step": "after the step before",
         "resolution": "after resolution", "decision": "from the disputed decision"}


def _rows(policy: Policy) -> list[list[str]]:
    rows = [["stage", "name", "parties", "days", "cumulative", "on expiry"]]
    for s, total in policy.cumulative():
        days = f"{s.working_days}{'*' if s.assumption else ''}"
        cum = str(total) if s.in_chain else f"({total})"
        expiry = s.on_expiry.replace("_", " ") + (", may request conference" if s.may_request_conference else "") \
            + (", referral to the Board" if s.board_referral else "")
        parties = ", ".join(r + (f" (else {s.stand_in(r)})" if s.stand_in(r) else "") for r in s.parties)
        rows.append([s.key, s.name, parties, days, cum, expiry])
    return rows


def policy_table(policy: Policy) -> str:
    """A plain-text table of the policy's stages, steps indented under each; '*' marks a number
    that is an assumption, explained below the table."""
    rows = _rows(policy)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {3, 4}
    fmt = lambda r: "  ".join(c.rjust(w) if i in right else c.ljust(w)
                              for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    lines = [policy.title, f"source: {policy.source}", "", fmt(rows[0]), fmt(["-" * w for w in widths])]
    for row, stage in zip(rows[1:], policy.stages):
        lines.append(fmt(row))
        lines += [f"{'':{widths[0]}}  - {t.name}" + (f": {_limit(t)} {_FROM[t.counts_from]}" if _limit(t) else "")
                  for t in stage.steps]
    lines.append("")
    lines.append(f"Total: {policy.total_working_days()} working days"
                 + (f" (the policy's aim: {policy.aim_working_days})" if policy.aim_working_days else ""))
    outside = [s.key for s in policy.stages if not s.in_chain]
    if outside:
        lines.append(f"Stage {', '.join(outside)}: reached only on request, not in the total; "
                     "its deadline is counted on from the stage before it, shown (in brackets).")
    lines += [f"Immediate risk (starts at stage {policy.start_stage(True).key}; each stage due the same "
              "working day it starts): "
              f"{policy.immediate_risk}",
              "Emergency contacts: " + "; ".join(f"{label} {num}" for label, num in policy.emergency_contacts),
              f"After the last stage: {policy.final_route}"]
    lines += [f"Brought onto a case for all of it ({i.when.replace('_', ' ')}): {i.role}. {i.why}"
              for i in policy.involve]
    lines += [f"Note: {n}" for n in policy.notes]
    lines += [f"* assumption, {a}" for a in policy.assumptions]
    return "\n".join(lines)


def presets_summary() -> str:
    """One line per preset: name, stages with their working days, total, assumptions, title."""
    lines = []
    for name, p in PRESETS.items():
        stages = " ".join(f"{s.key}:{s.working_days}{'*' if s.assumption else ''}" for s in p.stages)
        marked = f"{len(p.assumptions)} assumptions" if p.assumptions else "no assumptions"
        lines.append(f"{name:<14} {stages:<42} total {p.total_working_days():>2} WD  {marked:<15}  {p.title}")
    return "\n".join(lines)
