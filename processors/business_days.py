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
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_business_day(current):
            count += 1
    return count


def due_date(received: date) -> date:
    return add_business_days(received, SERVICE_LEVEL_DAYS)
