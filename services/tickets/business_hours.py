"""Business-hours arithmetic: a client's calendar (IANA time zone, weekly opening hours, holidays) and
the two questions SLA targets ask of it, as pure functions.

Opening hours are local wall-clock times; each open interval is turned into two instants through
zoneinfo, so a day with a daylight-saving change has the length it really had (09:00-17:00 on the
day clocks go back still counts 8 hours; an interval across 02:00-03:00 on the day they go forward
counts one hour less). A calendar without hours is open all the time (24/7).
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.contracts.sla_schemas import MAX_HOLIDAYS, MAX_INTERVALS_PER_DAY, WEEKDAYS

# The furthest a target may reach into the calendar: 10 years of days (a calendar that is never open
# is refused when it is saved, so this only bounds a pathological one, e.g. all days holidays).
MAX_DAYS = 3660


class CalendarError(ValueError):
    """A calendar that cannot be used: `field` says which part, the message says why."""

    def __init__(self, field_name, reason):
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


@dataclass(frozen=True)
class Calendar:
    """When the team works. `hours` maps a weekday (0 = Monday) to its open intervals as
    (start, end) local times, end None meaning midnight at the day's end; None means 24/7."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    hours: dict | None = None
    holidays: frozenset = frozenset()

    @property
    def always_open(self):
        return self.hours is None

    def intervals(self, day):
        """The open intervals of a local date, as UTC instants, in order."""
        if day in self.holidays:
            return []
        result = []
        for start, end in self.hours.get(day.weekday(), ()):
            opens = datetime.combine(day, start, tzinfo=self.tz)
            closes = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz) if end is None
                      else datetime.combine(day, end, tzinfo=self.tz))
            opens, closes = opens.astimezone(timezone.utc), closes.astimezone(timezone.utc)
            if closes > opens:
                result.append((opens, closes))
        return result

    def _days_from(self, instant):
        # From the day before: an interval of the previous local day can still be open at `instant`.
        day = instant.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(MAX_DAYS):
            yield day
            day += timedelta(days=1)


ALWAYS_OPEN = Calendar()


def _utc(instant):
    if instant.tzinfo is None:
        raise ValueError("business-hours arithmetic needs aware datetimes")
    return instant.astimezone(timezone.utc)


def add_business_time(start, seconds, calendar=ALWAYS_OPEN):
    """The instant when `seconds` of business time have passed since `start` (UTC).

    Zero seconds is `start` itself, even outside opening hours (a target already used up is due now).
    """
    start = _utc(start)
    if seconds <= 0:
        return start
    if calendar.always_open:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    for day in calendar._days_from(start):
        for opens, closes in calendar.intervals(day):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if closes - begin >= remaining:
                return begin + remaining
            remaining -= closes - begin
    raise CalendarError("hours", "the calendar has no opening hours within ten years")


def business_seconds_between(a, b, calendar=ALWAYS_OPEN):
    """Seconds of business time from `a` to `b` (0 if `b` is not after `a`)."""
    a, b = _utc(a), _utc(b)
    if b <= a:
        return 0.0
    if calendar.always_open:
        return (b - a).total_seconds()
    total = timedelta()
    end_day = b.astimezone(calendar.tz).date()
    for day in calendar._days_from(a):
        if day > end_day:
            break
        for opens, closes in calendar.intervals(day):
            overlap = min(closes, b) - max(opens, a)
            if overlap > timedelta():
                total += overlap
    return total.total_seconds()


# -- the calendar as stored and sent: {"timezone", "hours": {"mon": [["09:00", "17:00"]], ...} | null,
#    "holidays": ["2026-12-25", ...]} --


def _parse_time(text, where, end=False):
    if end and text == "24:00":
        return None
    try:
        hour, minute = text.split(":")
        if len(hour) != 2 or len(minute) != 2:
            raise ValueError
        return time(int(hour), int(minute))
    except (ValueError, AttributeError):
        raise CalendarError(where, "must be a time HH:MM (24:00 allowed as an end)") from None


def _minutes(value):
    return 24 * 60 if value is None else value.hour * 60 + value.minute


def parse_calendar(data):
    """A Calendar from its stored/JSON form; None or {} is 24/7 in UTC. Raises CalendarError."""
    if data is None:
        return ALWAYS_OPEN
    if not isinstance(data, dict):  # false, 0, "" or [] are no calendar
        raise CalendarError("calendar", "must be an object")
    if not data:
        return ALWAYS_OPEN
    unknown = set(data) - {"timezone", "hours", "holidays"}
    if unknown:
        raise CalendarError(f"calendar.{sorted(unknown)[0]}", "unknown field")
    name = data.get("timezone", "UTC")
    try:
        if not isinstance(name, str) or not name:
            raise ValueError
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError("calendar.timezone", "must be an IANA time zone, e.g. Europe/Berlin") from None
    holidays = data.get("holidays")
    holidays = [] if holidays is None else holidays
    if not isinstance(holidays, list) or len(holidays) > MAX_HOLIDAYS:
        raise CalendarError("calendar.holidays", f"must be a list of at most {MAX_HOLIDAYS} dates")
    days = set()
    for index, text in enumerate(holidays):
        try:
            days.add(date.fromisoformat(text))
        except (TypeError, ValueError):
            raise CalendarError(f"calendar.holidays.{index}", "must be a date YYYY-MM-DD") from None
    hours = data.get("hours")
    if hours is None:
        return Calendar(tz, None, frozenset(days))
    if not isinstance(hours, dict):
        raise CalendarError("calendar.hours", "must be an object of weekdays (mon..sun), or null for 24/7")
    week = {}
    for name_of_day, spans in hours.items():
        if name_of_day not in WEEKDAYS:
            raise CalendarError(f"calendar.hours.{name_of_day}", "unknown weekday (mon..sun)")
        where = f"calendar.hours.{name_of_day}"
        if not isinstance(spans, list) or len(spans) > MAX_INTERVALS_PER_DAY:
            raise CalendarError(where, f"must be a list of at most {MAX_INTERVALS_PER_DAY} [start, end] pairs")
        parsed = []
        for index, span in enumerate(spans):
            if not isinstance(span, list) or len(span) != 2:
                raise CalendarError(f"{where}.{index}", "must be a pair [\"HH:MM\", \"HH:MM\"]")
            start, end = _parse_time(span[0], f"{where}.{index}"), _parse_time(span[1], f"{where}.{index}", end=True)
            if start is None or _minutes(end) <= _minutes(start):
                raise CalendarError(f"{where}.{index}", "the end must come after the start")
            parsed.append((start, end))
        parsed.sort(key=lambda span: _minutes(span[0]))
        for (_, previous_end), (start, _) in zip(parsed, parsed[1:]):
            if _minutes(start) < _minutes(previous_end):
                raise CalendarError(where, "intervals overlap")
        if parsed:
            week[WEEKDAYS.index(name_of_day)] = parsed
    if not week:
        raise CalendarError("calendar.hours", "no opening hours at all (use null for 24/7)")
    return Calendar(tz, week, frozenset(days))


def _format_time(value):
    return "24:00" if value is None else value.strftime("%H:%M")


def dump_calendar(calendar):
    """The stored/JSON form of a Calendar (parse_calendar's inverse)."""
    hours = None if calendar.always_open else {
        WEEKDAYS[day]: [[_format_time(start), _format_time(end)] for start, end in spans]
        for day, spans in sorted(calendar.hours.items())
    }
    return {"timezone": calendar.tz.key, "hours": hours, "holidays": sorted(d.isoformat() for d in calendar.holidays)}
