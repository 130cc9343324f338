"""Calendar entries that travel with deadline notices, made when the mail is composed.

An entry follows its case (tracker/cases/calendar.py): when the stage's due time changes the
same UID is sent again with a higher SEQUENCE, and when the stage is done with (moved on,
resolved, withdrawn) a METHOD:CANCEL with the same UID and a higher SEQUENCE removes it
(RFC 5546 §3.2.5), so no deadline stays in a manager's calendar after it stopped standing.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import icalendar

from mailer.compose import Attachment
from tracker.outgoing.letter import Later
from tracker.storage.models import Case

DEADLINE_KINDS = frozenset({"notice", "escalated", "routed", "involved"})


def uid_of(partnership, case: Case) -> str:
    """One entry per stage of a case and per start of its clock."""
    return f"{case.ref}.{case.stage}.{int(case.stage_started_at.timestamp())}@{partnership.domain}"


def deadline_ics(partnership, case: Case, now: datetime, sequence: int = 0) -> Later:
    """The stage's deadline as a calendar entry, made when the mail is composed (the values
    are fixed now, so it is the same entry whenever that is)."""
    stage = partnership.policy.stage(case.stage)
    return Later("deadline_ics", {
        "ref": case.ref, "stage_key": stage.key, "stage_name": stage.name, "policy_title": partnership.policy.title,
        "uid": uid_of(partnership, case), "stamp": now.isoformat(), "due": case.stage_due_at.isoformat(),
        "sequence": sequence})


def cancel_ics(partnership, ref: str, stage_key: str, uid: str, due: datetime, sequence: int,
               now: datetime) -> Later:
    """The METHOD:CANCEL for an entry sent before: same UID, higher SEQUENCE."""
    stage = partnership.policy.stage(stage_key)
    return Later("cancel_ics", {"ref": ref, "stage_key": stage.key, "stage_name": stage.name,
                                "policy_title": partnership.policy.title, "uid": uid, "stamp": now.isoformat(),
                                "due": due.isoformat(), "sequence": sequence})


def _event(args: dict) -> icalendar.Event:
    ref, key, due = args["ref"], args["stage_key"], datetime.fromisoformat(args["due"])
    event = icalendar.Event()
    event.add("uid", args["uid"])
    event.add("sequence", args.get("sequence", 0))
    event.add("dtstamp", datetime.fromisoformat(args["stamp"]))
    event.add("dtstart", due - timedelta(minutes=30))
    event.add("dtend", due)
    event.add("summary", f"[{ref}] Response due: stage {key} ({args['stage_name']})")
    return event


def _calendar(method: str) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//escalations//deadline//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    return cal


def _deadline_ics(args: dict) -> Attachment:
    """An all-in-one VEVENT ending at the stage's due time, so it sits in Outlook's calendar."""
    ref, key = args["ref"], args["stage_key"]
    cal = _calendar("PUBLISH")
    event = _event(args)
    event.add("description", f"Escalation {ref} under the {args['policy_title']}. "
                             f"Reply to the notice with a keyword before this time.")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"{ref} response due")
    alarm.add("trigger", timedelta(hours=-4))
    event.add_component(alarm)
    cal.add_component(event)
    return Attachment(f"{ref}-stage-{key}-due.ics", "text/calendar", cal.to_ical())


def _cancel_ics(args: dict) -> Attachment:
    ref, key = args["ref"], args["stage_key"]
    cal = _calendar("CANCEL")
    event = _event(args)
    event.add("status", "CANCELLED")
    event.add("description", f"Escalation {ref}: this deadline no longer applies.")
    cal.add_component(event)
    return Attachment(f"{ref}-stage-{key}-cancelled.ics", 'text/calendar; method=CANCEL', cal.to_ical())


MAKERS = {"deadline_ics": _deadline_ics, "cancel_ics": _cancel_ics}  # what outbox.compose can make from a Later
