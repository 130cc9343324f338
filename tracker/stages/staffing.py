"""Who acts at a stage and when it is due, read from the policy, the directory and a case's
people. Pure functions for the stage machine (tracker/stages/machine.py).

    >>> from tracker.policy.build import PRESETS
    >>> from tracker.policy.calendar import WorkingCalendar
    >>> rules = Rules(PRESETS["wolverhampton"], WorkingCalendar(), None, (), None)
    >>> people = (Person("raiser", "raiser", "a@x.example"), Person("other_party", "other", "b@y.example"))
    >>> missing_at(rules, people, PRESETS["wolverhampton"].stage("3"))
    ('raiser', 'other')
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tracker.stages.audience import INTAKE_ROLE_FOR
from tracker.policy.calendar import WorkingCalendar
from tracker.policy.directory import Contact
from tracker.policy.model import BOARD_ROLES, Stage
from tracker.stages.rules import Rules
from tracker.stages.state import CaseState, Person

SIDES = ("raiser", "other")


# --- people ---------------------------------------------------------------------------------
def stage_people(rules: Rules, people: tuple[Person, ...], stage: Stage) -> tuple[Person, ...]:
    """The people who act at `stage` and are not yet on the case at it: managers named in the
    intake first, then the agency directory for each side's agency (or the stage's stand-in
    where the agency has nobody for a role), then the Board's people."""
    present = {x.email for x in people if x.stage == stage.key}
    new: list[Person] = []

    def add(person: Person) -> None:
        if person.email not in present:
            present.add(person.email)
            new.append(replace(person, stage=stage.key))

    for role in stage.parties:
        named = [x for x in people if x.stage is None and x.role in INTAKE_ROLE_FOR.get(role, ())]
        for who in named:
            add(who)
        if role in BOARD_ROLES:
            for c in _board(rules, role):
                add(Person(role, "board", c.email, None, c.name, c.title, "Board"))
            continue
        covered = {who.side for who in named}
        for side, email in _side_emails(people).items():
            if side in covered or role == "practitioner":
                continue
            for person in _agency_people(rules, email, role, side) or _stand_in(rules, email, stage, role, side):
                add(person)
    return tuple(new)


def _side_emails(people: tuple[Person, ...]) -> dict[str, str]:
    return {x.side: x.email for x in people if x.role in ("raiser", "other_party")}


def _board(rules: Rules, role: str) -> tuple[Contact, ...]:
    return tuple((rules.directory.board or {}).get(role, ())) if rules.directory else ()


def _agency_people(rules: Rules, email: str, role: str, side: str) -> list[Person]:
    agency = rules.directory.agency_of(email) if rules.directory else None
    return [Person(role, side, c.email, None, c.name, c.title, agency.name)
            for c in (agency.people.get(role, ()) if agency else ())]


def _stand_in(rules: Rules, email: str, stage: Stage, role: str, side: str) -> list[Person]:
    """Who a side goes to when its agency has nobody for `role` (Wiltshire: the Board manager)."""
    stand_in = stage.stand_in(role)
    if stand_in is None:
        return []
    if stand_in in BOARD_ROLES:
        return [Person(stand_in, "board", c.email, None, c.name, c.title, "Board") for c in _board(rules, stand_in)]
    return _agency_people(rules, email, stand_in, side)


def missing_at(rules: Rules, people: tuple[Person, ...], stage: Stage) -> tuple[str, ...]:
    """Who nobody reachable stands for at `stage`: "raiser" / "other" (a side whose agency
    has nobody for the stage's agency roles), "board" (the stage's Board roles)."""
    at = [p for p in people if p.stage == stage.key and not p.bounced]
    out: list[str] = []
    agency_roles = stage.agency_roles()
    stand_ins = {s for _, s in stage.fallback}
    if agency_roles:
        fill = {r for role in agency_roles for r in INTAKE_ROLE_FOR.get(role, ())}
        stood_in = any(p.role in stand_ins for p in at)
        for side in SIDES:
            if not stood_in and not any(p.side == side and not p.bounced and
                                        (p.stage == stage.key or (p.stage is None and p.role in fill))
                                        for p in people):
                out.append(side)
    board_roles = [r for r in stage.parties if r in BOARD_ROLES]
    if board_roles and not any(p.side == "board" and p.role in board_roles for p in at):
        out.append("board")
    return tuple(out)


def pending_roles(rules: Rules, state: CaseState) -> tuple[str, ...]:
    """The roles the policy brings onto this case (a looked-after child's IRO, a conference
    matter's CP chairs) that nobody reachable fills yet: business support is still finding them."""
    whens = {w for w, on in (("looked_after", state.looked_after), ("conference", state.conference)) if on}
    return tuple(dict.fromkeys(r.role for r in rules.policy.involve if r.when in whens and not any(
        p.role == r.role and p.side == "oversight" and not p.bounced for p in state.people)))


def involved_people(rules: Rules, people: tuple[Person, ...], role: str) -> tuple[Person, ...]:
    """The people who fill `role` for the whole case (the IRO of the local authority, the CP
    chairs): from the sides' agencies first, else whichever agency of the directory has the
    role (the local authority need not be a side), else the Board's; those not yet on it."""
    if rules.directory is None:
        return ()
    on_case = {p.email for p in people}
    found: list[Person] = []
    for email in _side_emails(people).values():
        found += _agency_people(rules, email, role, "oversight")
    if not found:
        agency = next((a for a in rules.directory.agencies if a.people.get(role)), None)
        found = [Person(role, "oversight", c.email, None, c.name, c.title, agency.name)
                 for c in (agency.people[role] if agency else ())]
    if not found:
        found = [Person(role, "oversight", c.email, None, c.name, c.title, "Board") for c in _board(rules, role)]
    return tuple({p.email: p for p in found if p.email not in on_case}.values())


# --- time -----------------------------------------------------------------------------------
def stage_due(rules: Rules, stage: Stage, immediate_risk: bool, start: datetime) -> datetime:
    """When a stage starting at `start` is due: the same working day under immediate risk."""
    return rules.calendar.due(start, 0 if immediate_risk else stage.working_days)


def next_clock(rules: Rules, state: CaseState, stage: Stage, now: datetime, reason: str) -> tuple[datetime, datetime]:
    """(clock start, due) for `stage` entered at `now`. After a stage ran out its full time the
    next one runs from when it *should* have ended (the policy's cumulative timetable,
    whenever the service noticed), unless the policy says its clock runs from the real start;
    a stage entered early (ESCALATE) starts now. Under immediate risk each stage after the
    first is due the working day after the one before."""
    if reason == "deadline" and rules.policy.stage_clock == "previous_deadline":
        start = state.stage_due_at
        return start, rules.calendar.after(start, 1 if state.immediate_risk else stage.working_days)
    return now, stage_due(rules, stage, state.immediate_risk, now)


def reminder_time(calendar: WorkingCalendar, start: datetime, due: datetime) -> datetime | None:
    """One working day before `due` (the close of the previous working day), if after `start`."""
    local_due = calendar.local(due).date()
    at = calendar.close_of(calendar.previous_working_day(local_due))
    return at if at > start else None


def restarted(rules: Rules, state: CaseState, now: datetime) -> CaseState:
    """The stage's clock runs again after standing still since `clock_stopped_at`: its due
    time moves on by the working days it stood still, so the side that never had the notice
    loses none of its time."""
    if state.clock_stopped_at is None:
        return state
    cal = rules.calendar
    lost = max(0, cal.working_days_between(state.clock_stopped_at, now))
    due = cal.after(state.stage_due_at, lost) if lost else state.stage_due_at
    return replace(state, stage_due_at=due, remind_at=reminder_time(cal, now, due), clock_stopped_at=None,
                   clock_stopped_for=None, expiry_handled_at=None if due > now else state.expiry_handled_at)
