"""Business-hours arithmetic (services/tickets/business_hours.py): weekends, holidays, targets over several
days, daylight-saving changes, 24/7 calendars, and the calendar's validation."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.tickets.business_hours import (
    ALWAYS_OPEN,
    CalendarError,
    add_business_time,
    business_seconds_between,
    dump_calendar,
    parse_calendar,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600
WEEKDAYS_9_TO_17 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def calendar(tz="Europe/Berlin", hours=WEEKDAYS_9_TO_17, holidays=()):
    return parse_calendar({"timezone": tz, "hours": hours, "holidays": list(holidays)})


def local(tz, *args):
    return datetime(*args, tzinfo=tz)


def test_within_one_working_day():
    # Tuesday 1 December 2026, 10:00 in Berlin: one hour later is 11:00 the same day.
    due = add_business_time(local(BERLIN, 2026, 12, 1, 10, 0), HOUR, calendar())
    assert due == local(BERLIN, 2026, 12, 1, 11, 0)
    assert due.tzinfo == timezone.utc


def test_a_target_that_does_not_fit_today_continues_next_morning():
    due = add_business_time(local(BERLIN, 2026, 12, 1, 16, 30), 2 * HOUR, calendar())
    assert due == local(BERLIN, 2026, 12, 2, 10, 30)


def test_the_weekend_does_not_count():
    # Friday 4 December 16:00 + 4 h: one hour on Friday, three on Monday.
    due = add_business_time(local(BERLIN, 2026, 12, 4, 16, 0), 4 * HOUR, calendar())
    assert due == local(BERLIN, 2026, 12, 7, 12, 0)
    assert business_seconds_between(local(BERLIN, 2026, 12, 4, 16, 0), due, calendar()) == 4 * HOUR


def test_created_outside_hours_starts_counting_at_opening():
    # Saturday night: the clock starts on Monday at 09:00.
    due = add_business_time(local(BERLIN, 2026, 12, 5, 23, 0), HOUR, calendar())
    assert due == local(BERLIN, 2026, 12, 7, 10, 0)


def test_holidays_are_skipped():
    cal = calendar(holidays=["2026-12-24", "2026-12-25"])
    # Wednesday 23 December 16:00 + 2 h: an hour on the 23rd, Thursday and Friday are holidays, the weekend
    # is closed, the second hour is Monday the 28th.
    due = add_business_time(local(BERLIN, 2026, 12, 23, 16, 0), 2 * HOUR, cal)
    assert due == local(BERLIN, 2026, 12, 28, 10, 0)


def test_a_target_spanning_several_days():
    # 48 business hours from Monday 09:00 = six 8-hour days: the next Monday at 17:00.
    due = add_business_time(local(BERLIN, 2026, 12, 7, 9, 0), 48 * HOUR, calendar())
    assert due == local(BERLIN, 2026, 12, 14, 17, 0)
    assert business_seconds_between(local(BERLIN, 2026, 12, 7, 9, 0), due, calendar()) == 48 * HOUR


def test_daylight_saving_ends_local_hours_stay_local():
    # New York leaves DST on Sunday 1 November 2026: Friday 16:00 EDT + 2 h = Monday 10:00 EST, which is
    # 15:00 UTC (it would be 14:00 UTC had the offset not changed).
    cal = calendar("America/New_York")
    due = add_business_time(local(NEW_YORK, 2026, 10, 30, 16, 0), 2 * HOUR, cal)
    assert due == local(NEW_YORK, 2026, 11, 2, 10, 0)
    assert due == datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def test_daylight_saving_day_counts_the_hours_it_really_has():
    # Sunday 29 March 2026 in Berlin has no 02:00-03:00: a 00:00-24:00 day is 23 hours long.
    cal = calendar(hours={"sun": [["00:00", "24:00"]]})
    start = local(BERLIN, 2026, 3, 29, 0, 0)
    end = local(BERLIN, 2026, 3, 30, 0, 0)
    assert business_seconds_between(start, end, cal) == 23 * HOUR
    assert add_business_time(start, 23 * HOUR, cal) == end
    # On 25 October 2026 the clocks go back: that day has 25 hours.
    assert business_seconds_between(local(BERLIN, 2026, 10, 25, 0, 0), local(BERLIN, 2026, 10, 26, 0, 0),
                                    calendar(hours={"sun": [["00:00", "24:00"]]})) == 25 * HOUR


def test_24_7_is_plain_elapsed_time():
    start = datetime(2026, 12, 5, 23, 0, tzinfo=timezone.utc)  # a Saturday night
    assert add_business_time(start, 5 * HOUR) == start + timedelta(hours=5)
    assert add_business_time(start, 5 * HOUR, parse_calendar(None)) == start + timedelta(hours=5)
    assert business_seconds_between(start, start + timedelta(days=3), ALWAYS_OPEN) == 72 * HOUR
    # A 24/7 calendar with holidays stays 24/7 (holidays only close opening hours).
    assert parse_calendar({"timezone": "UTC", "hours": None}).always_open


def test_split_shifts_and_zero_and_reverse():
    cal = calendar(hours={"mon": [["13:00", "17:00"], ["08:00", "12:00"]]})
    assert add_business_time(local(BERLIN, 2026, 12, 7, 11, 0), 2 * HOUR, cal) == local(BERLIN, 2026, 12, 7, 14, 0)
    start = local(BERLIN, 2026, 12, 7, 11, 0)
    assert add_business_time(start, 0, cal) == start
    assert business_seconds_between(start, start - timedelta(hours=1), cal) == 0


def test_between_is_the_inverse_of_add():
    cal = calendar("America/New_York", holidays=["2026-11-26"])
    start = local(NEW_YORK, 2026, 10, 28, 15, 17)
    for hours in (0.5, 3, 9, 40, 130):
        due = add_business_time(start, hours * HOUR, cal)
        assert business_seconds_between(start, due, cal) == pytest.approx(hours * HOUR)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_time(datetime(2026, 12, 1, 10, 0), HOUR, calendar())


@pytest.mark.parametrize("data, field", [
    ({"timezone": "Mars/Olympus"}, "calendar.timezone"),
    ({"timezone": "UTC", "hours": {"funday": []}}, "calendar.hours.funday"),
    ({"timezone": "UTC", "hours": {"mon": [["9:00", "17:00"]]}}, "calendar.hours.mon.0"),
    ({"timezone": "UTC", "hours": {"mon": [["17:00", "09:00"]]}}, "calendar.hours.mon.0"),
    ({"timezone": "UTC", "hours": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}, "calendar.hours.mon"),
    ({"timezone": "UTC", "hours": {}}, "calendar.hours"),
    ({"timezone": "UTC", "holidays": ["2026-02-30"]}, "calendar.holidays.0"),
    ({"timezone": "UTC", "colour": "red"}, "calendar.colour"),
])
def test_bad_calendars_name_the_field(data, field):
    with pytest.raises(CalendarError) as error:
        parse_calendar(data)
    assert error.value.field == field


def test_a_calendar_round_trips():
    data = {"timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "12:00"], ["13:00", "24:00"]]},
            "holidays": ["2026-12-25"]}
    assert dump_calendar(parse_calendar(data)) == data
