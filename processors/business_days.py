"""Business days under Canadian federal holidays, for the 5-business-day service level."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays

SERVICE_LEVEL_DAYS = 5


@cache
def _federal_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CA", years=year, categories=("public", "government"))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def add_business_days(start: date, days: int) -> date:
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def business_days_between(start: date, end: date) -> int:
    """Business days after start up to and including end (0 when end <= start)."""
    if end <= start:
        return 0
    # any 7 days in a row hold 5 weekdays: count whole weeks at once, then the few days left
    weeks, left = divmod((end - start).days, 7)
    weekdays = weeks * 5 + sum(1 for n in range(1, left + 1) if (start + timedelta(days=weeks * 7 + n)).weekday() < 5)
    holidays_on_weekdays = sum(1 for year in range(start.year, end.year + 1) for day in _weekday_holidays(year) if start < day <= end)
    return weekdays - holidays_on_weekdays


@cache
def _weekday_holidays(year: int) -> tuple[date, ...]:
    return tuple(sorted(day for day in _federal_holidays(year) if day.weekday() < 5))


def due_date(received: date) -> date:
    return add_business_days(received, SERVICE_LEVEL_DAYS)
