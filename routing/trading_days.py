"""Exchange trading days from a maintained library (exchange_calendars), for the service calendar.

The Shanghai Stock Exchange's calendar (XSHG) lists the weekdays the exchanges close; its data reach
as far as the exchanges have announced (each December for the next year). `ROUTING_HOLIDAYS` adds
closures the library does not know yet and extends the covered range to the end of the latest year
it names. Past the covered range every weekday counts as a trading day, and `coverage_warning`
says so well before that happens.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

WARN_WITHIN_DAYS = 60
_HISTORY_DAYS = 400


@dataclass(frozen=True)
class TradingDays:
    """The weekday closures known, and the last day the data covers (None: no data at all)."""

    holidays: frozenset[date]
    covered_until: date | None
    source: str

    def coverage_warning(self, today: date, within_days: int = WARN_WITHIN_DAYS) -> str | None:
        """A sentence for operators when the calendar data end within `within_days` of `today`."""
        if self.covered_until is None:
            return f"no trading calendar data ({self.source}): every weekday counts as a trading day"
        left = (self.covered_until - today).days
        if left > within_days:
            return None
        when = "ended" if left < 0 else "ends"
        return (
            f"the trading calendar ({self.source}) {when} on {self.covered_until.isoformat()}: update the "
            "exchange_calendars package or list the next year's exchange holidays in ROUTING_HOLIDAYS"
        )


def weekday_closures(sessions: Collection[date], first: date, last: date) -> frozenset[date]:
    """Weekdays between `first` and `last` (inclusive) that are not trading sessions."""
    closed = set()
    day = first
    while day <= last:
        if day.weekday() < 5 and day not in sessions:
            closed.add(day)
        day += timedelta(days=1)
    return frozenset(closed)


@functools.lru_cache(maxsize=4)
def exchange_closures(exchange: str, since: date) -> tuple[frozenset[date], date]:
    """The exchange's weekday closures from `since` to the end of its data, and that end."""
    import exchange_calendars  # imported here: it pulls pandas, which only the calendar needs

    try:
        calendar = exchange_calendars.get_calendar(exchange, start=since.isoformat())
    except exchange_calendars.errors.InvalidCalendarName as error:
        raise ValueError(f"unknown exchange calendar {exchange!r} (an exchange_calendars code such as XSHG)") from error
    sessions = {stamp.date() for stamp in calendar.sessions}
    last = calendar.last_session.date()
    return weekday_closures(sessions, since, last), last


def trading_days(exchange: str, extra_holidays: Collection[date], today: date) -> TradingDays:
    """The library's closures for `exchange` (empty: none) plus `extra_holidays`."""
    holidays: set[date] = set(extra_holidays)
    covered: date | None = None
    source = exchange or "ROUTING_HOLIDAYS only"
    if exchange:
        closures, covered = exchange_closures(exchange, today - timedelta(days=_HISTORY_DAYS))
        holidays |= closures
        source = f"exchange_calendars {exchange}"
    if extra_holidays:
        listed_until = date(max(extra_holidays).year, 12, 31)
        covered = listed_until if covered is None else max(covered, listed_until)
    return TradingDays(frozenset(holidays), covered, source)
