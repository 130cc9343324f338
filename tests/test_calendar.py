"""The working-day calendar against an independent computation and named situations.

The reference below shares nothing with tracker/calendar.py: bank holidays are typed in from
the gov.uk list for England and Wales, UK summer time is the statutory rule (01:00 UTC on the
last Sunday of March to 01:00 UTC on the last Sunday of October), and working-day arithmetic
is numpy's busday_offset / busday_count.
"""
import random
import tomllib
from datetime import date, datetime, time, timedelta, timezone

import holidays
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tracker.policy.calendar import WorkingCalendar, calendar_from_config
from tracker.errors import ConfigError

UTC = timezone.utc

# gov.uk bank holidays, England and Wales (substitute days as published).
EW_BANK_HOLIDAYS = [
    "2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26",
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28",
    "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
    "2028-01-03", "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28", "2028-12-25", "2028-12-26",
    "2029-01-01",  # a raise late in 2028 plus 20 WD reaches into January 2029
]
HOLS = np.array(EW_BANK_HOLIDAYS, dtype="datetime64[D]")
FIRST, LAST = datetime(2025, 1, 1, tzinfo=UTC), datetime(2028, 11, 30, tzinfo=UTC)  # leaves room for 20 WD

CAL = WorkingCalendar()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _uk_offset_at(t: datetime) -> timedelta:
    start = datetime.combine(_last_sunday(t.year, 3), time(1), UTC)
    end = datetime.combine(_last_sunday(t.year, 10), time(1), UTC)
    return timedelta(hours=1 if start <= t < end else 0)


def _uk_offset_on(d: date) -> timedelta:  # at 17:00 local, well clear of the 01:00/02:00 changes
    return timedelta(hours=1 if _last_sunday(d.year, 3) <= d < _last_sunday(d.year, 10) else 0)


def ref_day_zero(raised: datetime) -> np.datetime64:
    local = (raised + _uk_offset_at(raised)).replace(tzinfo=None)
    d = np.datetime64(local.date()) + (1 if local.time() >= time(17) else 0)
    return np.busday_offset(d, 0, roll="forward", holidays=HOLS)


def ref_due(raised: datetime, n: int) -> datetime:
    d = np.busday_offset(ref_day_zero(raised), n, roll="forward", holidays=HOLS).astype(date)
    return datetime.combine(d, time(17), UTC) - _uk_offset_on(d)


def _random_raises(count: int, seed: int):
    """Uniform instants, half of them pinned near the close of business where mistakes live."""
    rng = random.Random(seed)
    span = int((LAST - FIRST).total_seconds())
    for i in range(count):
        t = FIRST + timedelta(seconds=rng.randrange(span))
        if i % 2:
            t = t.replace(hour=rng.choice([15, 16, 17]), minute=rng.choice([0, 29, 59]),
                          second=rng.choice([0, 59]))
        yield t, rng.randrange(0, 21)


# -- against the independent computation ----------------------------------------------------------
def test_holidays_package_agrees_with_the_gov_uk_list():
    ours = holidays.country_holidays("GB", subdiv="ENG", years=range(2025, 2029))
    on_weekdays = sorted(d for d in ours if d.weekday() < 5)  # the package also lists 25/26 Dec on a weekend
    assert on_weekdays == [date.fromisoformat(d) for d in EW_BANK_HOLIDAYS if d < "2029"]


def test_england_and_wales_share_one_calendar_in_the_package():
    years = range(1990, 2060)
    assert set(holidays.country_holidays("GB", subdiv="ENG", years=years)) == \
        set(holidays.country_holidays("GB", subdiv="WLS", years=years))


def test_every_day_2025_to_2028_is_classified_as_numpy_does():
    d = date(2025, 1, 1)
    while d <= date(2029, 1, 31):
        assert CAL.is_working_day(d) == bool(np.is_busday(np.datetime64(d), holidays=HOLS)), d
        d += timedelta(days=1)


def test_thousands_of_random_deadlines_match_numpy():
    for raised, n in _random_raises(6000, seed=20261224):
        assert CAL.due(raised, n) == ref_due(raised, n), (raised, n)


def test_day_zero_and_days_between_match_numpy():
    pairs = list(_random_raises(4000, seed=7))
    for (a, _), (b, _) in zip(pairs, pairs[1:]):
        assert CAL.day_zero(a) == ref_day_zero(a).astype(date)
        lo, hi = sorted((a, b))
        expected = int(np.busday_count(ref_day_zero(lo), ref_day_zero(hi), holidays=HOLS))
        assert CAL.working_days_between(lo, hi) == expected
        assert CAL.working_days_between(hi, lo) == -expected


def test_next_and_previous_working_day_match_numpy():
    rng = random.Random(3)
    for _ in range(2000):
        d = date(2025, 1, 2) + timedelta(days=rng.randrange(1450))
        nd = np.datetime64(d)
        assert CAL.next_working_day(d) == np.busday_offset(nd + 1, 0, roll="forward", holidays=HOLS).astype(date)
        assert CAL.previous_working_day(d) == np.busday_offset(nd - 1, 0, roll="backward", holidays=HOLS).astype(date)


@settings(max_examples=1500, deadline=None)
@given(st.datetimes(min_value=FIRST.replace(tzinfo=None), max_value=LAST.replace(tzinfo=None),
                    timezones=st.just(UTC)),
       st.integers(min_value=0, max_value=20))
def test_due_properties(raised, n):
    due = CAL.due(raised, n)
    assert due == ref_due(raised, n)
    assert due > raised and due.tzinfo == UTC
    assert CAL.local(due).time() == time(17) and CAL.is_working_day(CAL.local(due).date())
    # a stage of n working days is overdue exactly from its due time on
    assert CAL.working_days_between(raised, due - timedelta(microseconds=1)) == n
    assert CAL.working_days_between(raised, due) == n + 1


# -- named situations -------------------------------------------------------------------------------
def test_christmas_eve_2026_afternoon():
    raised = utc(2026, 12, 24, 16)  # Thursday, before close
    assert CAL.day_zero(raised) == date(2026, 12, 24)
    assert CAL.due(raised, 1) == utc(2026, 12, 29, 17)  # Fri 25, Mon 28 (Boxing Day substitute)
    assert CAL.due(raised, 5) == utc(2027, 1, 5, 17)


def test_raised_1730_on_a_friday_counts_from_monday():
    raised = utc(2026, 11, 20, 17, 30)  # GMT, so 17:30 local
    assert CAL.day_zero(raised) == date(2026, 11, 23)
    assert CAL.due(raised, 0) == utc(2026, 11, 23, 17)
    assert CAL.due(raised, 1) == utc(2026, 11, 24, 17)


def test_close_of_business_itself_counts_as_after_close():
    assert CAL.day_zero(utc(2026, 11, 20, 16, 59, 59)) == date(2026, 11, 20)
    assert CAL.day_zero(utc(2026, 11, 20, 17)) == date(2026, 11, 23)


def test_raised_on_a_saturday():
    raised = utc(2026, 11, 21, 10)
    assert CAL.day_zero(raised) == date(2026, 11, 23)
    assert CAL.due(raised, 1) == utc(2026, 11, 24, 17)


def test_raised_on_easter_monday():
    raised = datetime(2026, 4, 6, 10, tzinfo=CAL.tz)  # 09:00Z, BST
    assert CAL.day_zero(raised) == date(2026, 4, 7)
    assert CAL.due(raised, 5) == utc(2026, 4, 14, 16)  # 17:00 BST
    assert CAL.day_zero(utc(2026, 4, 3, 12)) == date(2026, 4, 7)  # Good Friday too


def test_october_clock_change():
    raised = utc(2026, 10, 23, 9)  # Friday, BST
    assert CAL.due(raised, 0) == utc(2026, 10, 23, 16)  # 17:00 BST
    assert CAL.due(raised, 1) == utc(2026, 10, 26, 17)  # clocks went back Sunday 25th: 17:00 GMT
    assert CAL.day_zero(utc(2026, 10, 23, 16, 30)) == date(2026, 10, 26)  # 17:30 BST: after close
    assert CAL.day_zero(utc(2026, 10, 30, 16, 30)) == date(2026, 10, 30)  # 16:30 GMT: before close


def test_march_clock_change_over_easter_2027():
    raised = utc(2027, 3, 25, 10)  # Thursday, GMT
    assert CAL.due(raised, 0) == utc(2027, 3, 25, 17)
    assert CAL.due(raised, 1) == utc(2027, 3, 30, 16)  # Good Friday, clocks change, Easter Monday


def test_substitute_bank_holidays_when_christmas_falls_at_the_weekend():
    assert not CAL.is_working_day(date(2027, 12, 27)) and not CAL.is_working_day(date(2027, 12, 28))
    assert CAL.due(utc(2027, 12, 24, 10), 1) == utc(2027, 12, 29, 17)
    assert not CAL.is_working_day(date(2026, 12, 28))  # Boxing Day 2026 is a Saturday


def test_year_end():
    raised = utc(2027, 12, 30, 12)
    assert CAL.due(raised, 1) == utc(2027, 12, 31, 17)
    assert CAL.due(raised, 2) == utc(2028, 1, 4, 17)  # New Year's Day substitute on Monday 3rd
    assert CAL.next_working_day(date(2027, 12, 31)) == date(2028, 1, 4)
    assert CAL.previous_working_day(date(2028, 1, 4)) == date(2027, 12, 31)


def test_scotland_keeps_2_january():
    scot = WorkingCalendar("scotland")
    raised = utc(2025, 12, 31, 12)
    assert CAL.due(raised, 1) == utc(2026, 1, 2, 17)
    assert scot.due(raised, 1) == utc(2026, 1, 5, 17)
    raised = utc(2026, 12, 31, 12)  # 2 January 2027 is a Saturday: substitute Monday 4th
    assert CAL.due(raised, 1) == utc(2027, 1, 4, 17)
    assert scot.due(raised, 1) == utc(2027, 1, 5, 17)
    assert scot.is_working_day(date(2027, 3, 29))  # no Easter Monday in Scotland


def test_northern_ireland_holidays():
    ni = WorkingCalendar("northern-ireland")
    assert not ni.is_working_day(date(2027, 3, 17)) and CAL.is_working_day(date(2027, 3, 17))
    assert not ni.is_working_day(date(2027, 7, 12)) and CAL.is_working_day(date(2027, 7, 12))


def test_configured_closure_days():
    closed = WorkingCalendar(closures=[date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)])
    assert closed.due(utc(2026, 12, 24, 16), 1) == utc(2027, 1, 4, 17)
    monday_off = WorkingCalendar(closures=[date(2026, 11, 23)])
    assert monday_off.day_zero(utc(2026, 11, 20, 17, 30)) == date(2026, 11, 24)


def test_other_hours_and_zone():
    cal = WorkingCalendar(tz="Europe/Dublin", opens=time(8, 30), closes=time(16, 30))
    assert cal.due(utc(2026, 7, 1, 15, 0), 0) == utc(2026, 7, 1, 15, 30)  # 16:30 IST
    assert cal.day_zero(utc(2026, 7, 1, 15, 31)) == date(2026, 7, 2)


def test_input_in_any_offset_output_in_utc():
    raised = datetime(2026, 6, 1, 18, tzinfo=timezone(timedelta(hours=2)))  # 17:00 BST: after close
    assert CAL.day_zero(raised) == date(2026, 6, 2)
    assert CAL.due(raised, 0).tzinfo == UTC
    assert CAL.local(utc(2026, 6, 1, 16)).hour == 17


def test_a_naive_time_can_be_read_as_local_wall_clock():
    assert CAL.assume_local(datetime(2026, 7, 1, 16, 30)) == utc(2026, 7, 1, 15, 30)
    assert CAL.assume_local(utc(2026, 7, 1, 16, 30)) == utc(2026, 7, 1, 16, 30)


def test_add_working_days_from_a_non_working_day_starts_on_the_next():
    assert CAL.add_working_days(date(2026, 12, 25), 0) == date(2026, 12, 29)
    assert CAL.add_working_days(date(2026, 12, 25), 1) == date(2026, 12, 30)


def test_far_dates_widen_the_calendar_consistently():
    cal = WorkingCalendar()
    far = [date(2090, 5, 3), date(1995, 5, 8), date(2040, 2, 29)]
    answers = [cal.add_working_days(d, 30) for d in far] + [cal.add_working_days(date(2026, 1, 5), 5000)]
    fresh = [WorkingCalendar().add_working_days(d, 30) for d in far]
    assert answers[:3] == fresh
    assert answers[3] == WorkingCalendar().add_working_days(date(2026, 1, 5), 5000)
    assert not cal.is_working_day(date(1995, 5, 8))  # VE Day 50th anniversary bank holiday


# -- refusals ---------------------------------------------------------------------------------------
def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        CAL.due(datetime(2026, 1, 5, 10), 1)
    with pytest.raises(ValueError, match="aware"):
        CAL.local(datetime(2026, 1, 5, 10))


@pytest.mark.parametrize("kwargs, message", [
    ({"region": "wales"}, "england-and-wales, scotland, northern-ireland"),
    ({"tz": "Europe/Londn"}, "unknown time zone"),
    ({"opens": time(17), "closes": time(9)}, "open before it closes"),
])
def test_bad_construction_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(**kwargs)


def test_negative_working_days_are_refused():
    with pytest.raises(ValueError, match="0 or more"):
        CAL.add_working_days(date(2026, 1, 5), -1)


def test_calendar_is_immutable():
    with pytest.raises(AttributeError):
        CAL.region = "scotland"


# -- config -----------------------------------------------------------------------------------------
def test_calendar_from_toml():
    section = tomllib.loads("""
[calendar]
region = "scotland"
time_zone = "Europe/London"
opens = "08:30"
closes = 16:30:00
closure_days = ["2026-12-29", 2026-12-30]
""")["calendar"]
    cal = calendar_from_config(section)
    assert cal.region == "scotland" and cal.closes == time(16, 30) and cal.opens == time(8, 30)
    assert not cal.is_working_day(date(2026, 12, 29)) and not cal.is_working_day(date(2026, 12, 30))
    assert calendar_from_config({}).due(utc(2026, 12, 24, 16), 5) == utc(2027, 1, 5, 17)


@pytest.mark.parametrize("section, key, message", [
    ({"closes": "5pm"}, "calendar.closes", "24-hour local time"),
    ({"opens": "18:00"}, "calendar.closes", "later than opens"),
    ({"region": "wales"}, "calendar.region", "england-and-wales"),
    ({"time_zone": "GMT+1 please"}, "calendar.time_zone", "unknown time zone"),
    ({"closure_days": ["2026-12-29", "29/12/2026"]}, "calendar.closure_days[1]", "YYYY-MM-DD"),
    ({"closure_days": "2026-12-29"}, "calendar.closure_days", "list of dates"),
    ({"close": "17:00"}, "calendar.close", "unknown key"),
])
def test_bad_config_names_the_key(section, key, message):
    with pytest.raises(ConfigError, match=message) as caught:
        calendar_from_config(section)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"config.toml: {key}: ")
