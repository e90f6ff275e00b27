"""Service hours and trading days (Asia/Shanghai by default): is tier 2 open at a given instant?"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.errors import ValidationFailed

Window = tuple[time, time]

_SEARCH_DAYS = 400


def parse_windows(text: str) -> tuple[Window, ...]:
    """Parse "08:30-11:30,13:00-17:00" into (start, end) pairs; ValidationFailed on bad input."""
    windows: list[Window] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            start_text, end_text = part.split("-")
            start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
        except ValueError as error:
            raise ValidationFailed(f"bad service window {part!r}; expected HH:MM-HH:MM") from error
        if start >= end:
            raise ValidationFailed(f"service window {part!r} ends before it starts")
        windows.append((start, end))
    return tuple(sorted(windows))


@dataclass(frozen=True)
class ServiceCalendar:
    """Weekday service windows in one time zone, closed on listed holidays."""

    zone: ZoneInfo
    weekday_windows: Mapping[int, tuple[Window, ...]]
    holidays: frozenset[date]
    always_open: bool = False

    @classmethod
    def build(
        cls,
        timezone: str,
        weekday_hours: Mapping[int, str],
        holidays: Collection[date],
        always_open: bool = False,
    ) -> ServiceCalendar:
        """Build from settings-shaped values; ValidationFailed on a bad weekday, window or zone."""
        if any(day not in range(7) for day in weekday_hours):
            raise ValidationFailed("weekday_hours keys must be 0 (Monday) to 6 (Sunday)")
        try:
            zone = ZoneInfo(timezone)
        except (KeyError, ValueError) as error:
            raise ValidationFailed(f"unknown time zone {timezone!r}") from error
        windows = {day: parse_windows(text) for day, text in weekday_hours.items()}
        return cls(zone, windows, frozenset(holidays), always_open)

    def is_service_day(self, day: date) -> bool:
        """A weekday with service windows that is not a holiday."""
        return bool(self.weekday_windows.get(day.weekday())) and day not in self.holidays

    def is_open(self, at: datetime) -> bool:
        """Whether tier 2 serves at this instant."""
        if self.always_open:
            return True
        local = at.astimezone(self.zone)
        if not self.is_service_day(local.date()):
            return False
        moment = local.time()
        return any(start <= moment < end for start, end in self.weekday_windows[local.weekday()])

    def next_open(self, at: datetime) -> datetime:
        """The first instant at or after `at` when tier 2 serves (`at` itself if open now)."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.zone)
        for offset in range(_SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if not self.is_service_day(day):
                continue
            for start, _end in self.weekday_windows[day.weekday()]:
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening.astimezone(at.tzinfo)
        raise ValidationFailed("the service calendar has no opening in the next year")
