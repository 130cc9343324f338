"""The digest as words: one set of tables feeds the plain text (aligned columns) and the HTML
(Outlook-friendly tables with inline styles and bar cells), through templates/digest.*.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime

from tracker.digest.model import CaseMark, Count, Digest, OpenCase
from tracker.digest.query import LABEL_LIMIT, MARK_LIMIT, OPEN_LIMIT
from tracker.shipped import TEMPLATES

SHIPPED = TEMPLATES
BAR_PX = 180  # the longest bar in the trend


@dataclass(frozen=True)
class Table:
    title: str
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()  # numeric columns, right-aligned
    note: str = ""
    empty: str = "none"
    bars: tuple[tuple[int, ...], ...] = field(default=())  # per row: bar widths in px (HTML only)

    def text(self) -> list[str]:
        """The table as aligned lines of plain text."""
        rows = [self.head, *self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.head))]
        cell = lambda i, v: v.rjust(widths[i]) if i in self.right else v.ljust(widths[i])  # noqa: E731
        line = lambda r: "  ".join(cell(i, v) for i, v in enumerate(r)).rstrip()  # noqa: E731
        return [line(self.head), line(tuple("-" * w for w in widths)), *map(line, self.rows)]


def day(d: date | datetime | None) -> str:
    return "" if d is None else f"{d:%a} {d.day} {d:%b %Y}"


def moment(dt: datetime) -> str:
    return f"{dt:%a} {dt.day} {dt:%b %Y}, {dt:%H:%M}"


def _overdue(c: OpenCase) -> str:
    if not c.overdue:
        return ""
    if c.overdue_hours is not None:
        return f"{c.overdue_hours} h" if c.overdue_hours else "under 1 h"
    return f"{c.overdue_days} WD"


def _flags(immediate: bool, gap: bool, debrief: bool) -> str:
    return " ".join(f for f, on in (("RISK", immediate), ("GAP", gap), ("DEBRIEF", debrief)) if on)


def _agencies(raising: str | None, receiving: str | None) -> str:
    return f"{raising or 'not given'} → {receiving or 'not given'}"


def open_table(d: Digest) -> Table:
    rows = tuple((c.ref, c.stage, str(c.days_open), f"{day(c.due_at)} {c.due_at:%H:%M}", _overdue(c),
                  _flags(c.immediate_risk, c.policy_gap, c.debrief), _agencies(c.raiser_agency, c.other_agency),
                  c.category) for c in d.open_cases)
    note = ""
    if d.open_unlisted:
        note = (f"Listed: the {len(d.open_cases)} most overdue or soonest due (at most {OPEN_LIMIT}). "
                f"Not listed: {d.open_unlisted} more open cases, {d.open_unlisted_overdue} of them overdue.")
    return Table(f"Open cases as at {moment(d.now)}", ("Case", "Stage", "Days open (WD)", "Next deadline",
                 "Overdue by", "Flags", "Agencies (raising → receiving)", "Category"), rows,
                 frozenset({2}), note, "no open cases")


def stage_table(d: Digest) -> Table:
    rows = tuple((s.stage, s.stage_name, str(s.open_now), str(s.overdue)) for s in d.open_by_stage)
    return Table("Open cases by stage", ("Stage", "Name", "Open", "Overdue"), rows, frozenset({2, 3}))


def resolutions_table(d: Digest) -> Table:
    num = lambda v: "" if v is None else f"{v:g}"  # noqa: E731
    rows = tuple((s.stage, s.stage_name, str(s.resolved), str(s.withdrawn), num(s.timetable_days),
                  num(s.median_days), num(s.longest_days), f"{s.within_timetable} of {s.resolved}")
                 for s in d.resolutions_by_stage)
    return Table("Closed in the week, by the stage reached", ("Stage", "Name", "Resolved", "Withdrawn",
                 "Policy timetable (WD)", "Median WD taken", "Longest", "Within timetable"), rows,
                 frozenset({2, 3, 4, 5, 6}), "Working days from raising to closing; the timetable is the "
                 "policy's working days from raising to the end of that stage. Median and within are over "
                 "resolved cases.", "nothing closed in the week")


def records_table(d: Digest) -> Table:
    rows = tuple((r.ref, r.stage, r.outcome, str(r.working_days), "" if r.timetable_days is None
                  else str(r.timetable_days), day(r.raised), day(r.closed), day(r.referred)) for r in d.records)
    return Table("Resolution records (also attached as CSV)", ("Case", "Stage", "Outcome", "WD taken",
                 "Timetable", "Raised", "Closed", "Referred to Board"), rows, frozenset({3, 4}),
                 empty="nothing closed in the week")


def count_table(title: str, counts: tuple[Count, ...], label: str) -> Table:
    rows = tuple((c.label, str(c.opened), str(c.closed), str(c.open_now)) for c in counts)
    note = f"The {LABEL_LIMIT} most active are listed; the rest are summed." if len(counts) > LABEL_LIMIT else ""
    return Table(title, (label, "Raised in week", "Closed in week", "Open now"), rows, frozenset({1, 2, 3}), note)


def mark_table(title: str, marks: tuple[CaseMark, ...], more: int, empty: str) -> Table:
    rows = tuple((m.ref, m.status, m.stage, day(m.raised), day(m.closed), "yes" if m.policy_gap else "",
                  "yes" if m.debrief else "", day(m.referred)) for m in marks)
    note = f"{more} more not listed (at most {MARK_LIMIT} are)." if more else ""
    return Table(title, ("Case", "Status", "Stage", "Raised", "Closed", "Policy gap", "Debrief",
                         "Referred to Board"), rows, note=note, empty=empty)


def trend_table(d: Digest) -> Table:
    top = max([max(t.opened, t.resolved + t.withdrawn) for t in d.trend] + [1])
    px = lambda n: round(BAR_PX * n / top)  # noqa: E731
    rows = tuple((t.week, str(t.opened), str(t.resolved), str(t.withdrawn), str(t.open_at_end)) for t in d.trend)
    bars = tuple((px(t.opened), px(t.resolved + t.withdrawn)) for t in d.trend)
    return Table(f"The last {len(d.trend)} weeks", ("Week", "Raised", "Resolved", "Withdrawn", "Open at end"),
                 rows, frozenset({1, 2, 3, 4}), bars=bars)


def heads_table(d: Digest) -> Table:
    return Table("Record heads: open cases and those closed lately", ("Case, entries and fingerprint",),
                 tuple((h,) for h in d.heads),
                 note="Keep this mail. Each line is what that case's record was as this digest was made: "
                      "'escalations case REF --verify --against' this mail shows whether the record was rewritten "
                      "since.", empty="no cases")


def summary_table(d: Digest) -> Table:
    rows = (("Escalations raised", d.opened), ("Resolved", d.resolved), ("Withdrawn", d.withdrawn),
            ("Raised with immediate risk", d.immediate_risk_opened), ("Open now", d.open_now),
            ("Overdue now", d.overdue_now), ("Policy gaps flagged", d.policy_gaps),
            ("Debriefs requested", d.debriefs), ("Referred to the Board in the week", d.referred_in_week),
            ("Mail from outside the partner domains (quarantined, not answered)", d.quarantined_outside))
    return Table("The week in numbers", ("", "Count"), tuple((k, str(v)) for k, v in rows), frozenset({1}))


def coverage(d: Digest) -> str:
    period = f"{day(d.first_day)} to {day(d.last_day)}"
    if d.complete:
        return f"The week {period}, which has ended."
    return f"The week so far: {period}, up to {moment(d.now)}. The week has not ended yet."


def values(d: Digest) -> dict:
    """Everything digest.txt and digest.html see. `ref` is None: the layout shows no case."""
    tables = [summary_table(d), open_table(d), stage_table(d), resolutions_table(d), records_table(d),
              count_table("By category", d.by_category, "Category"),
              count_table("By raising agency", d.by_raising_agency, "Agency"),
              count_table("By receiving agency", d.by_receiving_agency, "Agency"),
              mark_table("Immediate risk: open, or raised in the week", d.immediate_risk,
                         d.immediate_risk_unlisted, "none"),
              mark_table("For the Board: policy gaps, debriefs and referrals (open, or closed or referred "
                         "in the week)", d.flagged, d.flagged_unlisted, "none flagged"), heads_table(d)]
    late = (f"Sent late: this digest was due {moment(d.scheduled_for)} and the service was not running then."
            if d.late else "")
    return {"partnership": d.partnership, "ref": None, "week": d.week, "policy": d.policy,
            "coverage": coverage(d), "late": late, "tables": [_plain(t) for t in tables],
            "trend": _plain(trend_table(d)), "complete": d.complete}


def _plain(t: Table) -> dict:
    """A table as plain data, its text lines made here: the outbox keeps template values as
    JSON until the mail is composed at send time, so templates see no methods."""
    return {**{f.name: getattr(t, f.name) for f in fields(t)}, "lines": t.text()}


def _composer(composer):
    if composer is not None:
        return composer
    from mailer.compose import Composer

    return Composer([SHIPPED])


def render_text(digest: Digest, composer=None) -> str:
    """The plain-text digest (the body of digest.txt, without its Subject line)."""
    _, text, _ = _composer(composer).render("digest", values(digest))
    return text


def render_html(digest: Digest, composer) -> str:
    """The HTML digest, from templates/digest.html."""
    return _composer(composer).render("digest", values(digest))[2]
