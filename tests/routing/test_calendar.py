from datetime import UTC, date, datetime, time

import pytest

from routing.calendar import ServiceCalendar, parse_windows
from routing.errors import ValidationFailed
from routing.settings import RoutingSettings


def shanghai(year, month, day, hour, minute=0) -> datetime:
    # Asia/Shanghai is UTC+8 all year (no daylight saving).
    return datetime(year, month, day, hour - 8 if hour >= 8 else hour + 16, minute, tzinfo=UTC).replace(
        day=day if hour >= 8 else day - 1
    )


@pytest.fixture
def calendar() -> ServiceCalendar:
    return ServiceCalendar.build(
        "Asia/Shanghai",
        {
            0: "09:00-11:30,13:00-17:00",
            1: "09:00-17:00",
            2: "09:00-17:00",
            3: "09:00-17:00",
            4: "09:00-17:00",
        },
        [date(2026, 10, 1), date(2026, 10, 2)],
    )


def test_parse_windows_sorts_and_rejects_bad_input():
    assert parse_windows("13:00-17:00, 09:00-11:30") == ((time(9), time(11, 30)), (time(13), time(17)))
    for bad in ("9-17", "17:00-09:00", "09:00"):
        with pytest.raises(ValidationFailed):
            parse_windows(bad)


def test_open_within_windows_in_shanghai_time(calendar):
    monday = (2026, 3, 2)
    assert calendar.is_open(shanghai(*monday, 9))
    assert calendar.is_open(shanghai(*monday, 11, 29))
    assert not calendar.is_open(shanghai(*monday, 12))  # lunch break on Mondays
    assert calendar.is_open(shanghai(*monday, 16, 59))
    assert not calendar.is_open(shanghai(*monday, 17))
    assert not calendar.is_open(shanghai(*monday, 8, 59))


def test_closed_on_weekends_and_holidays(calendar):
    assert not calendar.is_open(shanghai(2026, 3, 7, 10))  # Saturday
    assert not calendar.is_open(shanghai(2026, 10, 1, 10))  # listed holiday (a Thursday)
    assert calendar.is_open(shanghai(2026, 10, 5, 10))  # Monday after


def test_next_open_skips_nights_weekends_and_holidays(calendar):
    friday_evening = shanghai(2026, 3, 6, 18)
    assert calendar.next_open(friday_evening) == shanghai(2026, 3, 9, 9)
    lunch = shanghai(2026, 3, 2, 12)
    assert calendar.next_open(lunch) == shanghai(2026, 3, 2, 13)
    before_holiday = shanghai(2026, 9, 30, 20)
    assert calendar.next_open(before_holiday) == shanghai(2026, 10, 5, 9)
    open_now = shanghai(2026, 3, 2, 10)
    assert calendar.next_open(open_now) == open_now


def test_always_open_ignores_the_calendar():
    calendar = ServiceCalendar.build("Asia/Shanghai", {}, [], always_open=True)
    assert calendar.is_open(shanghai(2026, 3, 7, 3))


def test_bad_settings_are_refused():
    with pytest.raises(ValidationFailed):
        ServiceCalendar.build("Mars/Olympus", {0: "09:00-17:00"}, [])
    with pytest.raises(ValidationFailed):
        ServiceCalendar.build("Asia/Shanghai", {7: "09:00-17:00"}, [])


def test_settings_defaults_and_environment(monkeypatch):
    settings = RoutingSettings()
    calendar = ServiceCalendar.build(settings.timezone, settings.weekday_hours, settings.holidays)
    assert calendar.is_open(shanghai(2026, 3, 2, 10))
    assert not calendar.is_open(shanghai(2026, 10, 1, 10))  # National Day
    monkeypatch.setenv("ROUTING_WEEKDAY_HOURS", '{"5": "10:00-12:00"}')
    monkeypatch.setenv("ROUTING_HOLIDAYS", '["2026-03-07"]')
    monkeypatch.setenv("ROUTING_TIER2_WAIT_LIMIT_SECONDS", "60")
    custom = RoutingSettings()
    assert custom.weekday_hours == {5: "10:00-12:00"} and custom.tier2_wait_limit_seconds == 60
    calendar = ServiceCalendar.build(custom.timezone, custom.weekday_hours, custom.holidays)
    assert not calendar.is_open(shanghai(2026, 3, 7, 11))  # a Saturday made a holiday
    assert calendar.is_open(shanghai(2026, 3, 14, 11))
