"""Rules of the stage machine for what business support does and what the mail does:
ROUTE, CORRECT and UPDATE from business support (CONTRACT.md §2), a mail that did not
arrive (refused when sent, or bounced later), and an intake repeating an open case. Pure;
tracker/stages/machine.py dispatches here.

    >>> from tracker.policy.build import PRESETS
    >>> from tracker.policy.calendar import WorkingCalendar
    >>> rules = Rules(PRESETS["wolverhampton"], WorkingCalendar(), None, ("bs@p.example",), None)
    >>> same_escalation(rules, " ch-1 ", "a@council.example", "b@health.example") == \\
    ...     same_escalation(rules, "CH-1", "x@health.example", "y@council.example")
    True
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tracker.stages.audience import tell, told
from tracker.stages.events import Correct, DuplicateIntake, MailRefused, Reply, Route
from tracker.policy.model import BOARD_ROLES, Stage
from tracker.stages.rules import Rules
from tracker.stages.staffing import SIDES, missing_at, pending_roles, restarted
from tracker.stages.state import CaseState, Entry, Person, Tell, Transition, Words

# The letters that carry a stage's notice: a bounce of one can leave a side without it, and
# CORRECT sends the latest of them again to the corrected address.
STAGE_NOTICES = ("notice", "escalated", "routed", "involved", "reminder")
RESENDABLE = STAGE_NOTICES + ("confirmation",)
_HISTORY = ("escalated", "routed", "involved")


def is_support(rules: Rules, address: str | None) -> bool:
    return bool(address) and address.lower() in {a.lower() for a in rules.business_support}


def from_support(rules: Rules, state: CaseState, sender: str | None) -> bool:
    """Business support writing on a case it is not a party of (a party's own rules win)."""
    return is_support(rules, sender) and not any(p.email == sender.lower() for p in state.people)


def flagged(state: CaseState, statement: str | None) -> CaseState:
    """Policy gaps and debrief requests, for the Board: flags only, the words stay in the record."""
    text = (statement or "").lower()
    return replace(state, policy_gap_flagged=state.policy_gap_flagged or "policy gap" in text,
                   debrief_requested=state.debrief_requested or "debrief" in text)


# --- business support -------------------------------------------------------------------------
def support_reply(rules: Rules, state: CaseState, reply: Reply) -> Transition:
    """UPDATE from business support is recorded as theirs on any case, open or closed, and
    goes to every party; another keyword is refused with what they may send."""
    sender = reply.sender.lower()
    words = Words(statement=reply.statement, actor=f"business support ({sender})", command=reply.command)
    if reply.command == "update":
        entry = Entry("update", sender, f"update from business support ({sender})", reply.statement, stage=state.stage)
        new = flagged(state, reply.statement)
        return Transition("update", True, new, (entry,), tell(rules, new, ("update",), sender, answer=True), words)
    cmd = (reply.command or "no keyword").replace("_", " ")
    entry = Entry("refused", sender, f"{cmd} from business support ({sender}): not accepted (business support "
                  "sends ROUTE, CORRECT or UPDATE)", reply.statement, stage=state.stage)
    return Transition("support_keyword", False, state, (entry,), (Tell("support_refused", (sender,), answer=True),),
                      replace(words, refusal="support_keyword"))


def _not_from_support(rules: Rules, state: CaseState, sender: str, command: str) -> Transition | None:
    """ROUTE/CORRECT from anyone but business support, or on a closed case: the answer. A
    party's "Correct, we agree ..." is no keyword of theirs, and is answered as such."""
    sender = sender.lower()
    if not is_support(rules, sender):
        if not any(p.email == sender for p in state.people):
            return Transition("not_party", False, state, (), (Tell("not_a_party", (sender,), answer=True,
                                                                   about_case=False),))
        entry = Entry("refused", sender, f"{command} from {sender}: not accepted (no keyword of theirs)",
                      stage=state.stage)
        return Transition("no_keyword", False, state, (entry,), (Tell("no_keyword", (sender,), answer=True),),
                          Words(actor=sender, command=None, refusal="no_keyword"))
    if state.status != "open":
        entry = Entry("refused", sender, f"{command} from business support ({sender}): not accepted (the case is "
                      "closed)", stage=state.stage)
        return Transition("closed_case_reply", False, state, (entry,), (Tell("closed_case", (sender,), answer=True),))
    return None


def _support_refused(state: CaseState, sender: str, command: str, why: str, detail: str | None) -> Transition:
    entry = Entry("refused", sender, f"{command} from business support ({sender}): not accepted "
                  f"({why.replace('_', ' ')})", detail, stage=state.stage)
    return Transition(why, False, state, (entry,), (Tell("support_refused", (sender,), answer=True),),
                      Words(actor=sender, command=command, refusal=why, detail=detail))


def route(rules: Rules, state: CaseState, ev: Route, now: datetime) -> Transition:
    """The people named become parties of the current stage, on the side their agency is
    (else the side nobody is known for), and get its notice; where the stage lacks nobody
    but the policy still waits for someone to bring onto the whole case (an IRO), they are
    that, for every stage. The raiser hears who was added; a clock stopped for a side that
    is now covered runs again."""
    refused = _not_from_support(rules, state, ev.sender, "route")
    if refused:
        return refused
    sender = ev.sender.lower()
    outside = [p.email for p in ev.people if not rules.reaches(p.email)]
    if outside:  # case mail never goes outside the partner agencies: nobody is added
        return _support_refused(state, sender, "route", "route_outside", ", ".join(outside))
    stage = rules.policy.stage(state.stage)
    known = {p.email for p in state.people if p.stage == stage.key or p.stage is None}
    missing, pending = missing_at(rules, state.people, stage), pending_roles(rules, state)
    added: list[Person] = []
    for p in ev.people:
        if p.email not in known and p.email not in {a.email for a in added}:
            added.append(_routed(rules, state, p, stage, missing, pending))
    if not added:
        why = "route_known" if ev.people else "route_unreadable"
        return _support_refused(state, sender, "route", why, "\n".join(ev.unreadable) or None)
    new, entries = _resumed(rules, replace(state, people=state.people + tuple(added)), stage, now)
    who = "; ".join(f"{p.name or p.email} <{p.email}> ({p.role.replace('_', ' ') if p.side == 'oversight' else p.side + ' side'})"
                    for p in added)
    entries = (Entry("routed", sender, f"routed by business support ({sender}) at stage {stage.key}: {who}",
                     stage=stage.key),) + entries
    throughout = [p for p in added if p.side == "oversight"]
    tells = told(rules, "routed", [p.email for p in added if p.side != "oversight"]) + \
        told(rules, "involved", [p.email for p in throughout]) + tell(rules, new, ("routed_feedback",), None) + \
        (Tell("support_done", (sender,), answer=True),)
    words = Words(actor=sender, command="route", reason="routed", involved=tuple(p.role for p in throughout),
                  missing=missing_at(rules, new.people, stage) + pending_roles(rules, new))
    return Transition("routed", True, new, entries, tells, words, added=tuple(added), history=True,
                      calendar="update" if new.stage_due_at != state.stage_due_at else None)


def _routed(rules: Rules, state: CaseState, p: Person, stage: Stage, missing: tuple[str, ...],
            pending: tuple[str, ...]) -> Person:
    """Who a routed person is on the case: for the whole case when only a role the policy
    brings in is still wanted (the one their title names, else the first), else at the stage."""
    if pending and not [m for m in missing if m in SIDES + ("board",)]:
        title = (p.title or "").lower()
        role = next((r for r in pending if any(w in title for w in _ROLE_WORDS.get(r, (r,)))), pending[0])
        return Person(role, "oversight", p.email, None, p.name, p.title, p.agency)
    side = _side_for(rules, state.people, p.email, missing, stage)
    return Person(_role_for(stage, side), side, p.email, stage.key, p.name, p.title, p.agency)


# Words in a routed person's title that name a role the policy brings in.
_ROLE_WORDS = {"iro": ("reviewing", "iro"), "cp_chair": ("child protection", "conference", "chair")}


def _side_for(rules: Rules, people: tuple[Person, ...], email: str, missing: tuple[str, ...], stage: Stage) -> str:
    """The side whose agency `email` belongs to; else the side nobody is known for; else the Board's."""
    mine = agency_key(rules, email)
    for p in people:
        if p.role in ("raiser", "other_party") and agency_key(rules, p.email) == mine:
            return p.side
    return next((s for s in missing if s in SIDES), "board" if "board" in missing or not stage.agency_roles()
                else "other")


def _role_for(stage: Stage, side: str) -> str:
    roles = [r for r in stage.parties if (r in BOARD_ROLES) == (side == "board")]
    return (roles or list(stage.parties))[0]


def correct(rules: Rules, state: CaseState, ev: Correct, now: datetime) -> Transition:
    """The address is replaced everywhere on the case; the latest notice the old address was
    sent goes again to the new one; a clock stopped for its side runs again."""
    refused = _not_from_support(rules, state, ev.sender, "correct")
    if refused:
        return refused
    sender = ev.sender.lower()
    if not ev.old or not ev.new:
        return _support_refused(state, sender, "correct", "correct_unreadable", None)
    if not any(p.email == ev.old for p in state.people):
        return _support_refused(state, sender, "correct", "correct_unknown", ev.old)
    if not rules.reaches(ev.new):  # the case would lose its party to an address it may not mail
        return _support_refused(state, sender, "correct", "correct_outside", ev.new)
    people = tuple(replace(p, email=ev.new, bounced=False) if p.email == ev.old else p for p in state.people)
    stage = rules.policy.stage(state.stage)
    new, entries = _resumed(rules, replace(state, people=people), stage, now)
    entries = (Entry("corrected", sender, f"address corrected by business support ({sender}): {ev.old} -> "
                     f"{ev.new}", stage=state.stage),) + entries
    tells = (told(rules, ev.resend, (ev.new,)) if ev.resend else ()) + (Tell("support_done", (sender,), answer=True),)
    return Transition("corrected", True, new, entries, tells, Words(actor=sender, command="correct"),
                      replaced=((ev.old, ev.new),), history=ev.resend in _HISTORY,
                      calendar="update" if new.stage_due_at != state.stage_due_at else None)


def _resumed(rules: Rules, state: CaseState, stage: Stage, now: datetime) -> tuple[CaseState, tuple[Entry, ...]]:
    """A clock stopped for a side runs again once someone reachable stands for that side."""
    side = state.clock_stopped_for
    if side is None or side in missing_at(rules, state.people, stage):
        return state, ()
    again = restarted(rules, state, now)
    return again, (Entry("clock_restarted", "service", f"the clock of stage {stage.key} runs again; due "
                         f"{rules.calendar.local(again.stage_due_at):%A %d %B %Y, %H:%M}", stage=stage.key),)


# --- mail that did not arrive -------------------------------------------------------------------
def mail_refused(rules: Rules, state: CaseState | None, ev: MailRefused, now: datetime) -> Transition:
    """Recorded on the case; business support and the raiser told which address failed. A
    hard failure of a stage's notice that leaves its side with nobody reachable stops the
    stage's clock until business support corrects or routes. A delay is recorded only.
    Never a notice about a failed failure notice, which could loop."""
    support = tuple(rules.business_support)
    if ev.kind.startswith("delivery_failed") or state is None:
        tells = () if ev.kind.startswith("delivery_failed") or not support else (Tell("delivery_failed", support),)
        return Transition("delivery_failed", True, state, (), tells)
    words = Words(failed=ev.recipient, severity=ev.severity, detail=ev.detail)
    what = ev.kind.replace("_", " ")
    if ev.severity == "delay":
        entry = Entry("delivery_delayed", "service", f"{what} to {ev.recipient} delayed: the mail server is "
                      "still trying to deliver it", ev.detail, stage=state.stage)
        return Transition("delivery_delayed", True, state, (entry,), (), words)
    how = "reported undeliverable" if ev.reported else "refused by the mail server"
    entries = (Entry("delivery_failed", "service", f"{what} to {ev.recipient} {how}"
                     + (" (a temporary fault, given up)" if ev.severity == "soft" else ""), ev.detail,
                     stage=state.stage),)
    new = state
    if ev.severity == "hard":
        new = replace(state, people=tuple(replace(p, bounced=True) if p.email == ev.recipient else p
                                          for p in state.people))
    new, stopped = _stopped(rules, new, ev, now)
    tells = (Tell("delivery_failed", support),) if support else ()
    if state.status == "open" and not any(p.role == "raiser" and p.email == ev.recipient for p in state.people):
        tells += tell(rules, new, ("delivery_failed_feedback",), None)
    return Transition("delivery_failed", True, new, entries + stopped, tells,
                      replace(words, reason="clock_stopped" if stopped else None))


def _stopped(rules: Rules, state: CaseState, ev: MailRefused, now: datetime) -> tuple[CaseState, tuple[Entry, ...]]:
    if ev.severity != "hard" or state.status != "open" or ev.kind not in STAGE_NOTICES or state.clock_stopped_at:
        return state, ()
    stage = rules.policy.stage(state.stage)
    sides = [p.side for p in state.people if p.email == ev.recipient and p.side in SIDES]
    side = next((s for s in missing_at(rules, state.people, stage) if s in sides), None)
    if side is None:
        return state, ()
    entry = Entry("clock_stopped", "service", f"the clock of stage {stage.key} stopped: nobody on the {side} side "
                  "has its notice; it runs again when business support corrects the address (CORRECT) or "
                  "routes the case (ROUTE)", stage=stage.key)
    return replace(state, clock_stopped_at=now, clock_stopped_for=side, remind_at=None), (entry,)


# --- one escalation, one case ---------------------------------------------------------------------
def agency_key(rules: Rules, email: str) -> str:
    """An agency as the directory knows it, else the address's domain."""
    agency = rules.directory.agency_of(email) if rules.directory else None
    return agency.name.lower() if agency else email.rpartition("@")[2].lower()


def same_escalation(rules: Rules, client_reference: str, raiser: str, other: str) -> tuple:
    """What two intakes share when they are one escalation: the client reference (case and
    spaces ignored) and the two agencies, in either order."""
    return (" ".join(client_reference.split()).lower(),
            frozenset((agency_key(rules, raiser), agency_key(rules, other))))


def duplicate(rules: Rules, state: CaseState, ev: DuplicateIntake) -> Transition:
    """Recorded on the open case; the sender is told which case it is and how to add to it."""
    sender = ev.sender.lower()
    party = any(p.email == sender for p in state.people)
    entry = Entry("duplicate_intake", sender, f"the same escalation sent again by {sender}: nothing new opened",
                  stage=state.stage)
    return Transition("duplicate_intake", True, state, (entry,), told(rules, "duplicate_intake", (sender,), answer=True),
                      Words(actor=sender, reason="party" if party else "not_party"))
