"""The partnership's working-day calendar: when a stage's time runs out.

A working day is Monday to Friday, not a bank holiday of the partnership's region (from the
`holidays` package, which is maintained upstream each year, substitute days and one-off
holidays included), and not a closure day from config.toml. A deadline falls at the close of
business of its working day. Something raised at or after the close of business, or on a day
that is not a working day, counts from the next working day; the raising day is day 0.

    >>> cal = WorkingCalendar()
    >>> cal.due(datetime(2026, 12, 24, 16, tzinfo=timezone.utc), 5).isoformat()
    '2027-01-05T17:00:00+00:00'

Every datetime going in must be aware; every datetime coming out is aware UTC (use `local`
for display). Working days are kept as a sorted array of ordinals per span of years, with an
index from any day to the first working day on or after it, so `due` is two list look-ups
and one cached time-zone conversion: microseconds.
"""
from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from tracker.errors import ConfigError

# England and Wales share one bank-holiday calendar (the package's ENG and WLS agree).
REGIONS: Mapping[str, str] = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
_MARGIN_YEARS = 5  # built around the first day asked about, widened on demand


class _Span:
    """Working days from `first` (an ordinal) for `len(index)` days; rebuilt, never mutated."""

    __slots__ = ("first", "days", "index", "last_year", "first_year")

    def __init__(self, first_year: int, last_year: int, is_working):
        self.first_year, self.last_year = first_year, last_year
        self.first = date(first_year, 1, 1).toordinal()
        end = date(last_year, 12, 31).toordinal()
        self.days = [o for o in range(self.first, end + 1) if is_working(o)]
        # index[o - first] = position in `days` of the first working day on or after o
        self.index = [bisect_left(self.days, o) for o in range(self.first, end + 1)]

    def covers(self, ordinal: int) -> bool:
        return 0 <= ordinal - self.first < len(self.index)


class WorkingCalendar:
    """Working days and business hours of one partnership. Immutable after construction."""

    __slots__ = ("region", "tz", "opens", "closes", "closures", "_span", "_lock", "_close_cache")

    def __init__(self, region: str = "england-and-wales", closures: Iterable[date] = (),
                 tz: str = "Europe/London", opens: time = time(9), closes: time = time(17)):
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}: choose one of {', '.join(REGIONS)}")
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {tz!r}: use an IANA name such as 'Europe/London'") from None
        if not (isinstance(opens, time) and isinstance(closes, time)) or opens.tzinfo or closes.tzinfo:
            raise ValueError("opening and closing times must be local wall-clock times without a zone")
        if not opens < closes:
            raise ValueError(f"business must open before it closes; got opens {opens:%H:%M}, "
                             f"closes {closes:%H:%M}")
        closure_set = frozenset(closures)
        if not all(type(d) is date for d in closure_set):
            raise ValueError("closure days must be dates")
        for name, value in (("region", region), ("tz", zone), ("opens", opens), ("closes", closes),
                            ("closures", closure_set), ("_span", None), ("_lock", threading.Lock()),
                            ("_close_cache", {})):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError("WorkingCalendar is immutable; build a new one")

    def __repr__(self) -> str:
        return (f"WorkingCalendar(region={self.region!r}, tz={self.tz.key!r}, opens={self.opens:%H:%M}, "
                f"closes={self.closes:%H:%M}, closures={len(self.closures)} days)")

    # -- the span of precomputed working days --------------------------------------------
    def _holidays_for(self, first_year: int, last_year: int) -> frozenset[int]:
        bank = holidays.country_holidays("GB", subdiv=REGIONS[self.region],
                                         years=range(first_year, last_year + 1))
        return frozenset(d.toordinal() for d in bank) | {d.toordinal() for d in self.closures}

    def _span_for(self, ordinal: int, ahead: int = 0) -> _Span:
        """The span covering `ordinal` and at least `ahead` working days after it."""
        span = self._span
        if span is not None and span.covers(ordinal):
            i = span.index[ordinal - span.first]
            if i + ahead < len(span.days):
                return span
        with self._lock:
            return self._widen(ordinal, ahead)

    def _widen(self, ordinal: int, ahead: int) -> _Span:
        year = date.fromordinal(ordinal).year
        span = self._span
        lo = year - _MARGIN_YEARS if span is None else min(span.first_year, year - 1)
        hi = year + _MARGIN_YEARS if span is None else max(span.last_year, year + 1)
        hi = max(hi, year + ahead // 250 + 2)  # 250 is fewer working days than any year has
        if not (1 <= lo and hi <= 9998):
            raise ValueError(f"{date.fromordinal(ordinal)} is outside the calendar's years")
        non_working = self._holidays_for(lo, hi)
        new = _Span(lo, hi, lambda o: o % 7 not in (6, 0) and o not in non_working)
        object.__setattr__(self, "_span", new)  # one assignment: readers see old or new
        return new

    def _position(self, ordinal: int, ahead: int = 0) -> tuple[_Span, int]:
        span = self._span_for(ordinal, ahead)
        return span, span.index[ordinal - span.first]

    # -- days ------------------------------------------------------------------------------
    def is_working_day(self, d: date) -> bool:
        """True for Monday to Friday that is no bank holiday and no closure day."""
        span, i = self._position(d.toordinal())
        return i < len(span.days) and span.days[i] == d.toordinal()

    def add_working_days(self, d: date, n: int) -> date:
        """The nth working day after d; d is first moved on to a working day (n == 0 gives
        d itself when it is one). add_working_days(Thu 24 Dec 2026, 1) == Tue 29 Dec 2026."""
        if n < 0:
            raise ValueError(f"working days to add must be 0 or more; got {n}")
        span, i = self._position(d.toordinal(), n)
        return date.fromordinal(span.days[i + n])

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after d."""
        return self.add_working_days(d + timedelta(days=1), 0)

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before d (for 'due tomorrow' reminders)."""
        ordinal = d.toordinal()
        span, i = self._position(ordinal)
        if i == 0:
            span, i = self._position(ordinal - 400)  # widen backwards, then look again
            span, i = self._position(ordinal)
        return date.fromordinal(span.days[i - 1])

    # -- times -----------------------------------------------------------------------------
    def _aware(self, dt: datetime, what: str) -> datetime:
        if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"{what} must be a time-zone-aware datetime; got {dt!r}")
        return dt.astimezone(self.tz)

    def assume_local(self, dt: datetime) -> datetime:
        """dt unchanged if aware; a naive dt read as the partnership's wall-clock time (for a
        --raised given without an offset)."""
        return dt if dt.tzinfo is not None else dt.replace(tzinfo=self.tz)

    def local(self, dt: datetime) -> datetime:
        """dt in the partnership's time zone, for display."""
        return self._aware(dt, "a time to display")

    def day_zero(self, raised: datetime) -> date:
        """The working day counting starts from: the raising day if it is a working day and
        business has not closed (at or after the closing time counts as after close), else
        the next working day."""
        here = self._aware(raised, "the time raised")
        d = here.date()
        if here.time() >= self.closes:
            d += timedelta(days=1)
        return self.add_working_days(d, 0)

    def close_of(self, d: date) -> datetime:
        """Close of business on d, aware UTC (17:00 London is 17:00Z in winter, 16:00Z in summer)."""
        cached = self._close_cache.get(d)
        if cached is None:
            cached = datetime.combine(d, self.closes, self.tz).astimezone(timezone.utc)
            self._close_cache[d] = cached
        return cached

    def due(self, raised: datetime, working_days: int) -> datetime:
        """Close of business `working_days` working days after day zero; 0 is the same-day rule."""
        return self.close_of(self.add_working_days(self.day_zero(raised), working_days))

    def after(self, due: datetime, working_days: int) -> datetime:
        """Close of business `working_days` working days after the working day of `due`: the
        next stage's deadline when the one before ran its full time, so that a timetable
        chained stage by stage is the policy's cumulative one (due(raised, 5 + 2) ==
        after(due(raised, 5), 2)), whenever the service noticed the first had run out."""
        return self.close_of(self.add_working_days(self._aware(due, "a due time").date(), working_days))

    def within_hours(self, dt: datetime) -> bool:
        """True when dt falls on a working day between opening and close of business."""
        here = self._aware(dt, "a time")
        return self.is_working_day(here.date()) and self.opens <= here.time() <= self.closes

    def clock_hours(self, start: datetime, hours: int) -> datetime:
        """`hours` after `start` (Wolverhampton's "referred in writing within 24 hours"); a
        time that falls outside working time moves to the close of the next working day
        (the same day's close when it falls before opening on a working day)."""
        at = start + timedelta(hours=hours)
        if self.within_hours(at):
            return at.astimezone(timezone.utc)
        here = self._aware(at, "a time")
        d = here.date() if here.time() < self.opens else here.date() + timedelta(days=1)
        return self.close_of(self.add_working_days(d, 0))

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days elapsed from start to end, each ending at its close of business;
        negative if end is before start. A stage of n working days is overdue exactly when
        working_days_between(raised, now) > n, i.e. from due(raised, n) on."""
        a, b = self.day_zero(start).toordinal(), self.day_zero(end).toordinal()
        lo, hi = sorted((a, b))
        self._position(lo)
        span, j = self._position(hi)  # widening keeps what was covered, so lo is in this span
        i = span.index[lo - span.first]
        return j - i if a <= b else i - j


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_KEYS = ("region", "time_zone", "opens", "closes", "closure_days")


def _time_value(section: Mapping, key: str, default: time) -> time:
    value = section.get(key, default)
    if isinstance(value, time) and value.tzinfo is None:
        return value
    match = _HHMM.match(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError(f"calendar.{key}", f'must be a 24-hour local time like "17:00"; got {value!r}')
    return time(int(match[1]), int(match[2]), int(match[3] or 0))


def _closure_days(value) -> list[date]:
    if not isinstance(value, list):
        raise ConfigError("calendar.closure_days", f'must be a list of dates like "2026-12-29"; got {value!r}')
    days = []
    for i, item in enumerate(value):
        try:
            days.append(item if type(item) is date else date.fromisoformat(item))
        except (TypeError, ValueError):
            raise ConfigError(f"calendar.closure_days[{i}]",
                              f'must be a date written YYYY-MM-DD; got {item!r}') from None
    return days


def calendar_from_config(section: Mapping) -> WorkingCalendar:
    """The [calendar] table of config.toml as a WorkingCalendar; every key is optional.

        [calendar]
        region = "england-and-wales"   # or "scotland", "northern-ireland"
        time_zone = "Europe/London"
        opens = "09:00"
        closes = "17:00"
        closure_days = ["2026-12-29", 2026-12-30]
    """
    unknown = sorted(set(section) - set(_KEYS))
    if unknown:
        raise ConfigError(f"calendar.{unknown[0]}", f"unknown key; the calendar takes {', '.join(_KEYS)}")
    region = section.get("region", "england-and-wales")
    if region not in REGIONS:
        raise ConfigError("calendar.region", f"must be one of {', '.join(REGIONS)}; got {region!r}")
    opens, closes = _time_value(section, "opens", time(9)), _time_value(section, "closes", time(17))
    if not opens < closes:
        raise ConfigError("calendar.closes", f"must be later than opens ({opens:%H:%M}); got {closes:%H:%M}")
    tz = section.get("time_zone", "Europe/London")
    try:
        return WorkingCalendar(region, _closure_days(section.get("closure_days", [])), tz, opens, closes)
    except ValueError as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError("calendar.time_zone", str(e)) from None


def spoken(calendar: WorkingCalendar, dt: datetime | None) -> str:
    """A time as a busy reader wants it, in the partnership's zone: 'Friday 27 November 2026, 17:00'."""
    if dt is None:
        return "not set"
    local = calendar.local(dt)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"
