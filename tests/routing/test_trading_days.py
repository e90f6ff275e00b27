"""Trading days from the exchange calendar library, ROUTING_HOLIDAYS, and the coverage warning."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from routing.settings import RoutingSettings
from routing.trading_days import TradingDays, trading_days, weekday_closures


def test_weekday_closures_are_the_weekdays_without_a_session() -> None:
    sessions = {date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9)}
    closed = weekday_closures(sessions, date(2026, 9, 28), date(2026, 10, 9))
    assert closed == {date(2026, 10, d) for d in (1, 2, 5, 6, 7)}  # National Day; the weekend is not listed


def test_the_exchange_calendar_knows_the_announced_holidays() -> None:
    days = trading_days("XSHG", [], date(2026, 6, 1))
    assert {date(2026, 10, 1), date(2026, 2, 16), date(2026, 6, 19)} <= days.holidays
    assert date(2026, 3, 2) not in days.holidays
    assert days.covered_until is not None and days.covered_until >= date(2026, 12, 31)


def test_extra_holidays_add_closures_and_extend_the_coverage() -> None:
    days = trading_days("XSHG", [date(2027, 2, 8)], date(2026, 12, 1))
    assert date(2027, 2, 8) in days.holidays and date(2026, 10, 1) in days.holidays
    assert days.covered_until == date(2027, 12, 31)
    assert days.coverage_warning(date(2026, 12, 1)) is None


def test_the_warning_comes_sixty_days_before_the_data_end() -> None:
    days = TradingDays(frozenset(), date(2026, 12, 31), "exchange_calendars XSHG")
    assert days.coverage_warning(date(2026, 10, 31)) is None
    soon = days.coverage_warning(date(2026, 11, 2))
    assert soon is not None and "ends on 2026-12-31" in soon and "ROUTING_HOLIDAYS" in soon
    late = days.coverage_warning(date(2027, 1, 5))
    assert late is not None and "ended on 2026-12-31" in late
    assert TradingDays(frozenset(), None, "none").coverage_warning(date(2026, 1, 1)) is not None


def test_settings_merge_the_exchange_closures_with_routing_holidays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_HOLIDAYS", '["2027-02-08"]')
    settings = RoutingSettings()
    assert date(2027, 2, 8) in settings.holidays and date(2026, 10, 1) in settings.holidays
    assert settings.holidays == sorted(settings.holidays)
    monkeypatch.setenv("ROUTING_TRADING_CALENDAR", "")
    assert RoutingSettings().holidays == [date(2027, 2, 8)]


def test_an_unknown_exchange_is_refused_clearly() -> None:
    with pytest.raises(ValidationError, match="unknown exchange calendar 'XXXX'"):
        RoutingSettings(trading_calendar="XXXX")


def test_always_open_needs_no_warning() -> None:
    settings = RoutingSettings()
    assert settings.trading_days is not None and settings.trading_days.covered_until is not None
    near_the_end = settings.trading_days.covered_until - timedelta(days=10)
    assert settings.calendar_warning(near_the_end) is not None
    assert RoutingSettings(always_open=True).calendar_warning(near_the_end) is None
