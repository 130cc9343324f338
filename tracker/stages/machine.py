"""The stage machine: what happens to a case, decided in one place, with no I/O.

`advance(rules, state, event, now)` takes the partnership's rules, a case's state (its
values and its people) and an event — a reply with its keyword, a deadline passing, a
reminder falling due, a mail that did not arrive, business support routing or correcting —
and returns a `Transition`: the case's new state and the effects (record entries, letters
to whom, people brought in). Opening a case is the first event (`open_case`). Nothing else
decides: ingest and the deadline sweep load a case, call this, and write what it returns
in one transaction (tracker/cases/). Who acts at a stage and when it is due are in
tracker/stages/staffing.py; business support's keywords, mail failures and duplicate
intakes in tracker/stages/support.py.

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

from dataclasses import replace
from datetime import datetime

from tracker.stages import support
from tracker.stages.audience import is_raiser, may_act_at, tell, told
from tracker.policy.calendar import spoken
from tracker.stages.guards import cleared, held, held_intake, unverified
from tracker.stages.events import (CONFERENCE_CATEGORY, Correct, DeadlinePassed, DuplicateIntake, Event,
                                   MailRefused, Opening, ReminderDue, Reply, Route)
from tracker.policy.model import Stage
from tracker.stages.rules import Rules
from tracker.stages.staffing import (involved_people, missing_at, next_clock, pending_roles, reminder_time, stage_due,
                                     stage_people)
from tracker.stages.state import CaseState, Entry, Person, Tell, Transition, Words

__all__ = ["Rules", "CaseState", "Person", "Entry", "Tell", "Words", "Transition", "Opening", "Reply",
           "DeadlinePassed", "ReminderDue", "MailRefused", "Route", "Correct", "DuplicateIntake",
           "CONFERENCE_CATEGORY", "open_case", "advance", "reminder_time", "WHO_MAY"]

# Who may send each keyword (CONTRACT.md §2).
WHO_MAY = {
    "acknowledged": "stage",
    "resolved": "stage",
    "escalate": "stage",
    "conference_requested": "stage",
    "update": "party",
    "withdraw": "raiser",
    "not_identifying": "held",  # the sender of what was held back (tracker/cases/holds.py finds it)
}


# --- opening --------------------------------------------------------------------------------
def open_case(rules: Rules, opening: Opening, now: datetime) -> Transition:
    """The state a new case starts in, and who is told: confirmation to the raiser, notice to
    the other party, the immediate-risk alert; where the policy starts an immediate-risk case
    beyond its first stage (Wiltshire: straight to the Board's nominated person), that
    stage's people; the people the policy brings in for the whole case (West Sussex's IRO
    for a looked-after child, its CP chairs for a conference dispute); and business support,
    asked to route, for anyone nobody is known for; and whoever sent it for the raiser.
    An intake that seems to identify someone opens nothing and goes to nobody but its sender,
    who is told what was found, until they send it again without it or answer NOT IDENTIFYING."""
    if opening.passages and opening.answer is None:
        return held_intake(opening.actor, opening.passages)
    policy = rules.policy
    stage = policy.start_stage(opening.immediate_risk)
    due = stage_due(rules, stage, opening.immediate_risk, now)
    direct = stage.key != policy.first().key
    people = opening.people
    people += stage_people(rules, people, stage) if direct else ()
    whens = tuple(w for w, on in (("looked_after", opening.looked_after), ("conference", opening.conference)) if on)
    involved, roles, unfound = _involve(rules, people, whens)
    people += involved
    state = CaseState("open", stage.key, opening.immediate_risk, now, due, reminder_time(rules.calendar, now, due),
                      referred_to_board_at=now if stage.board_referral else None, looked_after=opening.looked_after,
                      conference=opening.conference, people=people)
    missing = (missing_at(rules, people, stage) if direct else ()) + unfound
    raiser = next((p.email for p in people if p.role == "raiser"), opening.actor)
    by = "" if raiser == opening.actor else f", sent by {opening.actor} for {raiser} (named under Raised by)"
    entries = (Entry("opened", opening.actor, f"case opened at stage {stage.key} ({stage.name})"
                     + (" (referred direct: immediate risk)" if direct else "") + by, stage=stage.key),
               *cleared(opening.actor, opening.passages, opening.answer, stage.key))
    entries += _routing_entry(stage, missing)
    kinds = ("confirmation", "notice") + (("immediate_risk_alert",) if opening.immediate_risk else ())
    tells = tell(rules, state, kinds, None, answer="confirmation")
    at_stage = tuple(p.email for p in people if p.stage == stage.key)
    tells += told(rules, "escalated", at_stage) if direct else ()
    tells += told(rules, "involved", [p.email for p in involved])
    tells += tell(rules, state, ("route_request",), None) if missing else ()
    words = Words(reason="immediate_risk" if direct else None, missing=missing, involved=roles)
    return Transition("opened", True, state, entries, tells, words, added=people, history=direct or bool(involved))


def _involve(rules: Rules, people: tuple[Person, ...], whens: tuple[str, ...]
             ) -> tuple[tuple[Person, ...], tuple[str, ...], tuple[str, ...]]:
    """(people brought in, their roles, roles nobody is known for) for the policy's `involve`
    rules that `whens` trigger; a role already on the case is left as it is."""
    added: tuple[Person, ...] = ()
    roles: tuple[str, ...] = ()
    unfound: tuple[str, ...] = ()
    for rule in (r for r in rules.policy.involve if r.when in whens):
        if any(p.role == rule.role and p.side == "oversight" for p in people + added):
            continue
        found = involved_people(rules, people + added, rule.role)
        if found:
            added, roles = added + found, roles + (rule.role,)
        else:
            unfound += (rule.role,)
    return added, roles, unfound


def _routing_entry(stage: Stage, missing: tuple[str, ...]) -> tuple[Entry, ...]:
    if not missing:
        return ()
    return (Entry("needs_routing", "service", f"nobody known at stage {stage.key} for: {', '.join(missing)}; "
                  "business support asked to route it", stage=stage.key),)


# --- one event ------------------------------------------------------------------------------
def advance(rules: Rules, state: CaseState, event: Event, now: datetime) -> Transition:
    """What `event` does to a case in `state` at `now`."""
    if state is not None and state.record_problem:
        reply = event if isinstance(event, Reply) else None
        return unverified(rules, state, reply.sender if reply else None, reply.command if reply else None)
    if isinstance(event, Reply):
        if support.from_support(rules, state, event.sender):
            return support.support_reply(rules, state, event)
        return _reply(rules, state, event, now)
    if isinstance(event, DeadlinePassed):
        return _deadline(rules, state, now)
    if isinstance(event, ReminderDue):
        return _reminder(rules, state, event, now)
    if isinstance(event, Route):
        return support.route(rules, state, event, now)
    if isinstance(event, Correct):
        return support.correct(rules, state, event, now)
    if isinstance(event, DuplicateIntake):
        return support.duplicate(rules, state, event)
    return support.mail_refused(rules, state, event, now)


def _reply(rules: Rules, state: CaseState, reply: Reply, now: datetime) -> Transition:
    refusal = _refusal(rules, state, reply)
    words = Words(statement=reply.statement, actor=reply.sender, command=reply.command, refusal=refusal)
    if refusal == "not_party":  # reveal nothing to someone not on the case; its record is not touched
        return Transition("not_party", False, state, (), (Tell("not_a_party", (reply.sender,), answer=True,
                                                              about_case=False),) if reply.sender else ())
    if refusal:
        entry = _reply_entry(state, reply, refusal)
        return Transition(refusal, False, state, (entry,), tell(rules, state, _REFUSAL_LETTER[refusal],
                                                                reply.sender, answer=True), words=words)
    if reply.passages and reply.answer is None:
        return held(state, reply.command, reply.sender, reply.passages, words)
    moved = _accepted(rules, state, reply, now, words)
    return replace(moved, entries=cleared(reply.sender, reply.passages, reply.answer, state.stage) + moved.entries)


_REFUSAL_LETTER = {"closed_case_reply": ("closed_case",), "no_keyword": ("no_keyword",),
                   "no_further_stage": ("final_stage",), "not_raiser": ("refused",),
                   "not_stage_party": ("refused",), "conference_not_at_stage": ("refused",),
                   "not_support": ("no_keyword",), "nothing_held": ("nothing_held",)}


def _refusal(rules: Rules, state: CaseState, reply: Reply) -> str | None:
    """Why `reply` may not do what it asks, or None when it may."""
    mine = [p for p in state.people if reply.sender and p.email == reply.sender.lower()]
    if not mine:
        return "not_party"
    if state.status != "open":
        return "closed_case_reply"
    if reply.command is None:
        return "no_keyword"
    if reply.command not in WHO_MAY:  # ROUTE, CORRECT: business support's own
        return "not_support"
    rule = WHO_MAY[reply.command]
    if rule == "held":  # an answer that reaches the machine has nothing of its sender's held back
        return "nothing_held"
    if rule == "raiser" and not is_raiser(mine):
        return "not_raiser"
    if rule == "stage" and not may_act_at(rules.policy.stage(state.stage), mine):
        return "not_stage_party"
    if reply.command == "escalate" and rules.policy.next_stage(state.stage) is None:
        return "no_further_stage"
    if reply.command == "conference_requested" and not _conference_allowed(rules, state):
        return "conference_not_at_stage"
    return None


def _conference_allowed(rules: Rules, state: CaseState) -> bool:
    """At a stage whose policy allows it, or anywhere under a policy that brings people in for
    conference matters (West Sussex: the CP chairs)."""
    return rules.policy.stage(state.stage).may_request_conference or bool(rules.policy.involved("conference"))


def _reply_entry(state: CaseState, reply: Reply, outcome: str, allowed: bool = False) -> Entry:
    cmd = (reply.command or "no keyword").replace("_", " ")
    checked = f" ({reply.authenticated})" if reply.authenticated else ""
    summary = f"{cmd} from {reply.sender}{checked}" + ("" if allowed else f": not accepted ({outcome.replace('_', ' ')})")
    if reply.kept:
        summary += f"; attachment kept, not opened: {', '.join(reply.kept)}"
    return Entry(outcome if allowed else "refused", reply.sender or "", summary, reply.statement, stage=state.stage)


def _accepted(rules: Rules, state: CaseState, reply: Reply, now: datetime, words: Words) -> Transition:
    command = reply.command
    outcome = {"acknowledged": "acknowledged_again" if state.acknowledged_at else "acknowledged",
               "resolved": "resolved", "escalate": "escalated", "withdraw": "withdrawn",
               "conference_requested": "conference_requested", "update": "update"}[command]
    entry = _reply_entry(state, reply, outcome, allowed=True)
    new = support.flagged(state, reply.statement)
    if command == "escalate":
        moved = _escalate(rules, new, rules.policy.next_stage(state.stage), now, replace(words, reason="reply"))
        return replace(moved, outcome=outcome, entries=(entry,) + moved.entries)
    if command == "acknowledged" and not state.acknowledged_at:
        new = replace(new, acknowledged_at=now)
    if command in ("resolved", "withdraw"):
        new = replace(new, status="resolved" if command == "resolved" else "withdrawn", closed_at=now, remind_at=None,
                      outcome=reply.statement if command == "resolved" else new.outcome)
    kinds = {"acknowledged": () if state.acknowledged_at else ("acknowledged",),
             "resolved": ("resolved", "resolution_record"), "withdraw": ("withdrawn",),
             "conference_requested": ("conference_requested",), "update": ("update",)}[command]
    t = Transition(outcome, True, new, (entry,), tell(rules, new, kinds, reply.sender, answer=True), words=words,
                   calendar="cancel" if command in ("resolved", "withdraw") else None)
    return _with_conference_people(rules, t) if command == "conference_requested" else t


def _with_conference_people(rules: Rules, t: Transition) -> Transition:
    """A conference requested brings in the people the policy names for conference matters."""
    involved, roles, unfound = _involve(rules, t.state.people, ("conference",))
    if not involved and not unfound:
        return replace(t, state=replace(t.state, conference=True))
    state = replace(t.state, people=t.state.people + involved, conference=True)
    tells = t.tell + told(rules, "involved", [p.email for p in involved])
    tells += tell(rules, state, ("route_request",), None) if unfound else ()
    stage = rules.policy.stage(state.stage)
    return replace(t, state=state, tell=tells, entries=t.entries + _routing_entry(stage, unfound), added=involved,
                   words=replace(t.words, involved=roles, missing=unfound), history=True)


# --- time -----------------------------------------------------------------------------------
def _deadline(rules: Rules, state: CaseState, now: datetime) -> Transition:
    """The stage ran out unresolved: its on-expiry rule, once."""
    if state.clock_stopped_at is not None:  # nobody on one side has the notice: the clock stands still
        return Transition("clock_stopped", False, state)
    policy, due = rules.policy, state.stage_due_at
    stage, nxt = policy.stage(state.stage), policy.next_stage(state.stage)
    handled = replace(state, expiry_handled_at=now, remind_at=None)
    entry = Entry("deadline_passed", "service", f"stage {stage.key} ({stage.name}) ran out unresolved at "
                  f"{spoken(rules.calendar, due)}", stage=stage.key)
    words = Words(late_since=due, late_what="deadline", next_stage_name=nxt.name if nxt else None, reason="deadline")
    if stage.on_expiry == "escalate" and nxt is not None:
        moved = _escalate(rules, handled, nxt, now, words)
        return replace(moved, outcome="deadline_passed", entries=(entry,) + moved.entries)
    kinds = ("may_escalate",) if stage.on_expiry == "notify_raiser" and nxt is not None else \
        ("final_route", "final_route_feedback")
    return Transition("deadline_passed", True, handled, (entry,), tell(rules, handled, kinds, None), words=words)


def _reminder(rules: Rules, state: CaseState, event: ReminderDue, now: datetime) -> Transition:
    """A working day before the stage is due, the people who must act are reminded; one that
    comes due after the stage's own time is not sent (the expiry rule speaks), and the record
    says so. A reminder missed while the service was down goes once, saying it is late."""
    done = replace(state, remind_at=None)
    if state.clock_stopped_at is not None:
        return Transition("clock_stopped", False, state)
    if now >= state.stage_due_at:
        entry = Entry("reminder_not_sent", "service", f"reminder due {spoken(rules.calendar, event.due)} not sent: "
                      f"stage {state.stage}'s time ran out at {spoken(rules.calendar, state.stage_due_at)}",
                      stage=state.stage)
        return Transition("reminder_too_late", False, done, (entry,))
    entry = Entry("reminder", "service", f"reminder: stage {state.stage} due "
                  f"{spoken(rules.calendar, state.stage_due_at)}", stage=state.stage)
    return Transition("reminder", True, done, (entry,), tell(rules, done, ("reminder",), None),
                      words=Words(late_since=event.due, late_what="reminder"))


# --- stages ---------------------------------------------------------------------------------
def _escalate(rules: Rules, state: CaseState, stage: Stage, now: datetime, words: Words) -> Transition:
    """Move to `stage`: its clock starts (staffing.next_clock), its people come onto the case
    and get the notice with the history so far, the raiser is told who was told; business
    support is asked to route it for each side nobody is known for."""
    start, due = next_clock(rules, state, stage, now, words.reason)
    added = stage_people(rules, state.people, stage)
    moved = replace(state, stage=stage.key, stage_started_at=start, stage_due_at=due,
                    remind_at=reminder_time(rules.calendar, max(start, now), due), acknowledged_at=None,
                    expiry_handled_at=None, clock_stopped_at=None, clock_stopped_for=None,
                    referred_to_board_at=state.referred_to_board_at or (now if stage.board_referral else None),
                    people=state.people + added)
    missing = missing_at(rules, moved.people, stage) + pending_roles(rules, moved)
    kinds = ("escalated", "escalation_feedback") + (("route_request",) if missing else ())
    entry = (Entry("escalated_to", "service", f"moved to stage {stage.key} ({stage.name})", stage=stage.key),)
    return Transition("escalated", True, moved, entry + _routing_entry(stage, missing),
                      tell(rules, moved, kinds, None), words=replace(words, missing=missing),
                      added=added, history=True, calendar="cancel")
