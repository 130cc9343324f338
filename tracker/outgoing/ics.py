"""Calendar entries that travel with deadline notices, made when the mail is composed."""
from __future__ import annotations

from datetime import datetime, timedelta

import icalendar

from mailer.compose import Attachment
from tracker.outgoing.letter import Later
from tracker.storage.models import Case

DEADLINE_KINDS = frozenset({"notice", "escalated"})


def deadline_ics(partnership, case: Case, now: datetime) -> Later:
    """The stage's deadline as a calendar entry, made when the mail is composed (the values
    are fixed now, so it is the same entry whenever that is)."""
    stage = partnership.policy.stage(case.stage)
    return Later("deadline_ics", {
        "ref": case.ref, "stage_key": stage.key, "stage_name": stage.name, "policy_title": partnership.policy.title,
        "uid": f"{case.ref}.{case.stage}.{int(case.stage_started_at.timestamp())}@{partnership.domain}",
        "stamp": now.isoformat(), "due": case.stage_due_at.isoformat()})


def _deadline_ics(args: dict) -> Attachment:
    """An all-in-one VEVENT ending at the stage's due time, so it sits in Outlook's calendar."""
    ref, key, due = args["ref"], args["stage_key"], datetime.fromisoformat(args["due"])
    cal = icalendar.Calendar()
    cal.add("prodid", "-//escalations//deadline//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", args["uid"])
    event.add("dtstamp", datetime.fromisoformat(args["stamp"]))
    event.add("dtstart", due - timedelta(minutes=30))
    event.add("dtend", due)
    event.add("summary", f"[{ref}] Response due: stage {key} ({args['stage_name']})")
    event.add("description", f"Escalation {ref} under the {args['policy_title']}. "
                             f"Reply to the notice with a keyword before this time.")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"{ref} response due")
    alarm.add("trigger", timedelta(hours=-4))
    event.add_component(alarm)
    cal.add_component(event)
    return Attachment(f"{ref}-stage-{key}-due.ics", "text/calendar", cal.to_ical())


MAKERS = {"deadline_ics": _deadline_ics}  # what outbox.compose can make from a Later
