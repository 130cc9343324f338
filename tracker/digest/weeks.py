"""Weeks and the digest's timetable: which ISO week a digest covers and when it is due.

A week is an ISO week in the partnership's time zone, Monday 00:00 to the next Monday 00:00
local. The digest scheduled on `digest_day` at `digest_time` covers the ISO week before the
one it falls in (Monday 09:00 covers the week that has just ended).

    >>> iso_week("2026-W48")
    (datetime.date(2026, 11, 23), datetime.date(2026, 11, 30))
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# A digest queued more than this after its scheduled time says it was sent late.
LATE_AFTER = timedelta(minutes=30)


def iso_week(s: str) -> tuple[date, date]:
    """"2026-W48" -> (Monday 23 Nov 2026, Monday 30 Nov 2026): the week's first day and the next week's."""
    match = _WEEK.match(s.strip()) if isinstance(s, str) else None
    if not match:
        raise ValueError(f"a week is written like 2026-W48 (ISO year, W, two-digit week); got {s!r}")
    year, week = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        last = date(year, 12, 28).isocalendar().week  # 28 December is always in the last ISO week
        raise ValueError(f"{year} has ISO weeks 01 to {last}; got {s!r}") from None
    return monday, monday + timedelta(days=7)


def week_of(dt_local: datetime | date) -> str:
    """The ISO week of a local date-time (or date): week_of(datetime(2026, 11, 29, 23, 59)) == "2026-W48"."""
    year, week, _ = dt_local.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(partnership, week: str) -> tuple[datetime, datetime]:
    """The week's start and end as aware datetimes: local midnight on the two Mondays."""
    monday, next_monday = iso_week(week)
    tz = partnership.calendar.tz
    return _at(monday, tz, 0, 0), _at(next_monday, tz, 0, 0)


def scheduled_for(partnership, week: str) -> datetime:
    """When `week`'s digest is scheduled: digest_day at digest_time in the following week."""
    _, next_monday = iso_week(week)
    day = next_monday + timedelta(days=partnership.digest_day)
    t = partnership.digest_time
    return _at(day, partnership.calendar.tz, t.hour, t.minute)


def last_scheduled(partnership, now: datetime) -> datetime:
    """The most recent scheduled digest time at or before `now` (aware, local)."""
    local = partnership.calendar.local(now)
    this_week = week_of(local)
    candidate = scheduled_for(partnership, previous_week(this_week))
    return candidate if candidate <= now else scheduled_for(partnership, previous_week(previous_week(this_week)))


def previous_week(week: str) -> str:
    monday, _ = iso_week(week)
    return week_of(monday - timedelta(days=7))


def due_week(partnership, now: datetime, last_sent_week: str | None) -> str | None:
    """The week whose digest is due at `now`, or None if that week (or a later one) was sent.

    Only the latest scheduled time counts: after three weeks down the service sends the one
    digest for the week before the last scheduled time, never three."""
    week = previous_week(week_of(partnership.calendar.local(last_scheduled(partnership, now))))
    if last_sent_week is not None and last_sent_week >= week:  # "YYYY-Www" sorts as text
        return None
    return week


def is_late(partnership, week: str, now: datetime) -> bool:
    return now > scheduled_for(partnership, week) + LATE_AFTER


def digest_trigger(partnership):
    """An APScheduler CronTrigger firing at digest_day, digest_time in the partnership's zone."""
    from apscheduler.triggers.cron import CronTrigger

    t = partnership.digest_time
    return CronTrigger(day_of_week=partnership.digest_day, hour=t.hour, minute=t.minute,
                       timezone=partnership.calendar.tz)


def _at(d: date, tz, hour: int, minute: int) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)
