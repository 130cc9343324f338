"""The stage machine: what happens to a case, decided in one place, with no I/O.

`advance(rules, state, event, now)` takes the partnership's rules, a case's state (its
values and its people) and an event — a reply with its keyword, a deadline passing, a
reminder falling due, a mail the server refused — and returns a `Transition`: the case's
new state and the effects (record entries, letters to whom, people brought in). Opening a
case is the first event (`open_case`). Nothing else decides: ingest and the deadline sweep
load a case, call this, and write what it returns in one transaction (tracker/cases/).

    >>> from datetime import datetime, timezone
    >>> from tracker.policy.build import PRESETS
    >>> from tracker.policy.calendar import WorkingCalendar
    >>> rules = Rules(PRESETS["wolverhampton"], WorkingCalendar(), None, ("bs@p.example",), None)
    >>> now = datetime(2026, 11, 23, 10, tzinfo=timezone.utc)
    >>> people = (Person("raiser", "raiser", "a@x.example"), Person("other_party", "other", "b@y.example"))
    >>> opened = open_case(rules, Opening(people, immediate_risk=False, actor="a@x.example"), now)
    >>> [(t.kind, t.to) for t in opened.tell]
    [('confirmation', ('a@x.example',)), ('notice', ('b@y.example',))]
    >>> advance(rules, opened.state, Reply("escalate", "b@y.example", None), now).state.stage
    '2'
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from tracker.policy.audience import INTAKE_ROLE_FOR, audience, is_raiser, may_act_at
from tracker.policy.calendar import WorkingCalendar, spoken
from tracker.policy.model import Stage
from tracker.policy.rules import Rules
from tracker.policy.state import CaseState, Entry, Person, Tell, Transition, Words

__all__ = ["Rules", "CaseState", "Person", "Entry", "Tell", "Words", "Transition", "Opening", "Reply",
           "DeadlinePassed", "ReminderDue", "MailRefused", "open_case", "advance", "reminder_time", "WHO_MAY"]

# Who may send each keyword (CONTRACT.md §2).
WHO_MAY = {
    "acknowledged": "stage",
    "resolved": "stage",
    "escalate": "stage",
    "conference_requested": "stage",
    "update": "party",
    "withdraw": "raiser",
}


# --- events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Opening:
    """An intake that opens a case: the people it names (the raiser defaulting to its sender)."""

    people: tuple[Person, ...]
    immediate_risk: bool
    actor: str  # who the record says opened it


@dataclass(frozen=True)
class Reply:
    command: str | None  # a keyword of CONTRACT.md §2, or None
    sender: str | None  # the address the message counts as sent by
    statement: str | None


@dataclass(frozen=True)
class DeadlinePassed:
    """The stage's due time has come and its on-expiry rule has not run."""


@dataclass(frozen=True)
class ReminderDue:
    """The reminder time of the stage has come."""

    due: datetime  # when the reminder was due (a late one says so)


@dataclass(frozen=True)
class MailRefused:
    """The mail server refused, for good, a mail of `kind` to `recipient` about this case."""

    kind: str
    recipient: str


Event = Reply | DeadlinePassed | ReminderDue | MailRefused


# --- opening --------------------------------------------------------------------------------
def open_case(rules: Rules, opening: Opening, now: datetime) -> Transition:
    """The state a new case starts in, and who is told: confirmation to the raiser, notice to
    the other party, and the immediate-risk alert."""
    stage = rules.policy.start_stage(opening.immediate_risk)
    due = stage_due(rules, stage, opening.immediate_risk, now)
    people = opening.people
    if stage.key != rules.policy.first().key:
        people += stage_people(rules, people, stage)
    state = CaseState("open", stage.key, opening.immediate_risk, now, due, reminder_time(rules.calendar, now, due),
                      people=people)
    entry = Entry("opened", opening.actor, f"case opened at stage {stage.key} ({stage.name})", stage=stage.key)
    kinds = ("confirmation", "notice") + (("immediate_risk_alert",) if opening.immediate_risk else ())
    return Transition("opened", True, state, (entry,), _tell(rules, state, kinds, None, answer="confirmation"),
                      added=people)


# --- one event ------------------------------------------------------------------------------
def advance(rules: Rules, state: CaseState, event: Event, now: datetime) -> Transition:
    """What `event` does to a case in `state` at `now`."""
    if isinstance(event, Reply):
        return _reply(rules, state, event, now)
    if isinstance(event, DeadlinePassed):
        return _deadline(rules, state, now)
    if isinstance(event, ReminderDue):
        return _reminder(rules, state, event, now)
    return _refused_mail(rules, state, event)


def _reply(rules: Rules, state: CaseState, reply: Reply, now: datetime) -> Transition:
    refusal = _refusal(rules, state, reply)
    words = Words(statement=reply.statement, actor=reply.sender, command=reply.command, refusal=refusal)
    if refusal == "not_party":  # reveal nothing to someone not on the case; its record is not touched
        return Transition("not_party", False, state, (), (Tell("not_a_party", (reply.sender,), answer=True,
                                                              about_case=False),) if reply.sender else ())
    if refusal:
        entry = _reply_entry(state, reply, refusal)
        return Transition(refusal, False, state, (entry,), _tell(rules, state, _REFUSAL_LETTER[refusal],
                                                                 reply.sender, answer=True), words=words)
    return _accepted(rules, state, reply, now, words)


_REFUSAL_LETTER = {"closed_case_reply": ("closed_case",), "no_keyword": ("no_keyword",),
                   "no_further_stage": ("final_stage",), "not_raiser": ("refused",),
                   "not_stage_party": ("refused",), "conference_not_at_stage": ("refused",)}


def _refusal(rules: Rules, state: CaseState, reply: Reply) -> str | None:
    """Why `reply` may not do what it asks, or None when it may."""
    mine = [p for p in state.people if reply.sender and p.email == reply.sender.lower()]
    if not mine:
        return "not_party"
    if state.status != "open":
        return "closed_case_reply"
    if reply.command is None:
        return "no_keyword"
    rule = WHO_MAY[reply.command]
    if rule == "raiser" and not is_raiser(mine):
        return "not_raiser"
    if rule == "stage" and not may_act_at(rules.policy.stage(state.stage), mine):
        return "not_stage_party"
    if reply.command == "escalate" and rules.policy.next_stage(state.stage) is None:
        return "no_further_stage"
    if reply.command == "conference_requested" and not rules.policy.stage(state.stage).may_request_conference:
        return "conference_not_at_stage"
    return None


def _reply_entry(state: CaseState, reply: Reply, outcome: str, allowed: bool = False) -> Entry:
    cmd = (reply.command or "no keyword").replace("_", " ")
    summary = f"{cmd} from {reply.sender}" + ("" if allowed else f": not accepted ({outcome.replace('_', ' ')})")
    return Entry(outcome if allowed else "refused", reply.sender or "", summary, reply.statement, stage=state.stage)


def _accepted(rules: Rules, state: CaseState, reply: Reply, now: datetime, words: Words) -> Transition:
    command = reply.command
    outcome = {"acknowledged": "acknowledged_again" if state.acknowledged_at else "acknowledged",
               "resolved": "resolved", "escalate": "escalated", "withdraw": "withdrawn",
               "conference_requested": "conference_requested", "update": "update"}[command]
    entry = _reply_entry(state, reply, outcome, allowed=True)
    new = _flagged(state, reply.statement)
    if command == "escalate":
        moved = _escalate(rules, new, rules.policy.next_stage(state.stage), now, replace(words, reason="reply"))
        return replace(moved, outcome=outcome, entries=(entry,) + moved.entries)
    if command == "acknowledged" and not state.acknowledged_at:
        new = replace(new, acknowledged_at=now)
    if command in ("resolved", "withdraw"):
        new = replace(new, status="resolved" if command == "resolved" else "withdrawn", closed_at=now,
                      outcome=reply.statement if command == "resolved" else new.outcome)
    kinds = {"acknowledged": () if state.acknowledged_at else ("acknowledged",),
             "resolved": ("resolved", "resolution_record"), "withdraw": ("withdrawn",),
             "conference_requested": ("conference_requested",), "update": ("update",)}[command]
    return Transition(outcome, True, new, (entry,), _tell(rules, new, kinds, reply.sender, answer=True), words=words)


def _flagged(state: CaseState, statement: str | None) -> CaseState:
    """Policy gaps and debrief requests, for the Board: flags only, the words stay in the record."""
    text = (statement or "").lower()
    return replace(state, policy_gap_flagged=state.policy_gap_flagged or "policy gap" in text,
                   debrief_requested=state.debrief_requested or "debrief" in text)


# --- time -----------------------------------------------------------------------------------
def _deadline(rules: Rules, state: CaseState, now: datetime) -> Transition:
    """The stage ran out unresolved: its on-expiry rule, once."""
    policy, due = rules.policy, state.stage_due_at
    stage, nxt = policy.stage(state.stage), policy.next_stage(state.stage)
    handled = replace(state, expiry_handled_at=now)
    entry = Entry("deadline_passed", "service", f"stage {stage.key} ({stage.name}) ran out unresolved at "
                  f"{spoken(rules.calendar, due)}", stage=stage.key)
    words = Words(late_since=due, next_stage_name=nxt.name if nxt else None, reason="deadline")
    if stage.on_expiry == "escalate" and nxt is not None:
        moved = _escalate(rules, handled, nxt, now, words)
        return replace(moved, outcome="deadline_passed", entries=(entry,) + moved.entries)
    kinds = ("may_escalate",) if stage.on_expiry == "notify_raiser" and nxt is not None else \
        ("final_route", "final_route_feedback")
    return Transition("deadline_passed", True, handled, (entry,), _tell(rules, handled, kinds, None), words=words)


def _reminder(rules: Rules, state: CaseState, event: ReminderDue, now: datetime) -> Transition:
    """A working day before the stage is due, the people who must act are reminded; a
    reminder that comes due after the stage's own time says nothing (the expiry rule speaks)."""
    done = replace(state, remind_at=None)
    if now >= state.stage_due_at:
        return Transition("reminder_too_late", False, done)
    entry = Entry("reminder", "service", f"reminder: stage {state.stage} due "
                  f"{spoken(rules.calendar, state.stage_due_at)}", stage=state.stage)
    return Transition("reminder", True, done, (entry,), _tell(rules, done, ("reminder",), None),
                      words=Words(late_since=event.due))


def _refused_mail(rules: Rules, state: CaseState | None, event: MailRefused) -> Transition:
    """Recorded on the case and business support told; never about a failed notice of a
    failure, which could loop."""
    if event.kind == "delivery_failed" or state is None:
        tell = () if event.kind == "delivery_failed" else (Tell("delivery_failed", rules.business_support),)
        return Transition("delivery_failed", True, state, (), tell)
    entry = Entry("delivery_failed", "service", f"{event.kind} to {event.recipient} refused by the mail server",
                  stage=state.stage)
    return Transition("delivery_failed", True, state, (entry,), (Tell("delivery_failed", rules.business_support),))


# --- stages ---------------------------------------------------------------------------------
def _escalate(rules: Rules, state: CaseState, stage: Stage, now: datetime, words: Words) -> Transition:
    """Move to `stage`: its clock starts, its people come onto the case and get the notice
    with the history so far, the raiser is told; if nobody is known for it, business support
    is asked to route it."""
    due = stage_due(rules, stage, state.immediate_risk, now)
    added = stage_people(rules, state.people, stage)
    moved = replace(state, stage=stage.key, stage_started_at=now, stage_due_at=due,
                    remind_at=reminder_time(rules.calendar, now, due), acknowledged_at=None,
                    expiry_handled_at=None, people=state.people + added)
    kinds, entries = ("escalated", "escalation_feedback"), ()
    if not audience("escalated", moved, rules, None):
        kinds += ("route_request",)
        entries = (Entry("needs_routing", "service", f"nobody known for stage {stage.key}: business support "
                         "asked to route it", stage=stage.key),)
    return Transition("escalated", True, moved, entries, _tell(rules, moved, kinds, None), words=words,
                      added=added, history=True)


def stage_due(rules: Rules, stage: Stage, immediate_risk: bool, start: datetime) -> datetime:
    """When a stage starting at `start` is due: the same working day under immediate risk."""
    return rules.calendar.due(start, 0 if immediate_risk else stage.working_days)


def reminder_time(calendar: WorkingCalendar, start: datetime, due: datetime) -> datetime | None:
    """One working day before `due` (the close of the previous working day), if after `start`."""
    local_due = calendar.local(due).date()
    at = calendar.close_of(calendar.previous_working_day(local_due))
    return at if at > start else None


def stage_people(rules: Rules, people: tuple[Person, ...], stage: Stage) -> tuple[Person, ...]:
    """The people who act at `stage` and are not yet on the case at it: managers named in the
    intake first, then the agency directory for each side's agency, then the Board's people."""
    present = {x.email for x in people if x.stage == stage.key}
    sides = {x.side: x.email for x in people if x.role in ("raiser", "other_party")}
    new: list[Person] = []

    def add(person: Person) -> None:
        if person.email not in present:
            present.add(person.email)
            new.append(replace(person, stage=stage.key))

    directory = rules.directory
    for role in stage.parties:
        named = [x for x in people if x.stage is None and x.role in INTAKE_ROLE_FOR.get(role, ())]
        for who in named:
            add(who)
        covered = {who.side for who in named}
        for side, email in sides.items():
            if side in covered or role == "practitioner" or directory is None:
                continue
            agency = directory.agency_of(email)
            for c in (agency.people.get(role, ()) if agency else ()):
                add(Person(role, side, c.email, None, c.name, c.title, agency.name))
        for c in (directory.board or {}).get(role, ()) if directory else ():
            add(Person(role, "board", c.email, None, c.name, c.title, "Board"))
    return tuple(new)


def _tell(rules: Rules, state: CaseState, kinds: tuple[str, ...], sender: str | None,
          answer: str | bool = False) -> tuple[Tell, ...]:
    """One Tell per kind that has someone to go to. `answer`: the kinds threaded to the
    message that caused them (True: all of them)."""
    out = []
    for kind in kinds:
        to = audience(kind, state, rules, sender)
        if to:
            out.append(Tell(kind, to, answer=answer is True or answer == kind))
    return tuple(out)
