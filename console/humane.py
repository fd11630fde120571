"""Times, dates, numbers and values as an officer reads them: in the console's time zone, through Babel, in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent

from console.i18n import LOCALES
from core.models import utcnow

RECENT = timedelta(hours=12)  # younger than this, "2 h ago" reads better than a clock time


class Clock:
    """Formats times and numbers for one page: the officer's language (en_CA, fr_CA), the console's time zone."""

    def __init__(self, language: str, time_zone: str, now: datetime | None = None) -> None:
        self.locale = LOCALES.get(language, LOCALES["en"])
        try:
            self.zone: Any = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = UTC
        self.now = now or utcnow()

    def _moment(self, value: datetime | str | None) -> datetime | None:
        if value is None or value == "":
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def when(self, value: datetime | str | None) -> str:
        """29 Nov 2026 14:02 (local time)."""
        moment = self._moment(value)
        return format_datetime(moment, "d MMM y HH:mm", tzinfo=self.zone, locale=self.locale) if moment else "–"

    def time(self, value: datetime | str | None) -> str:
        """14:02 (local time)."""
        moment = self._moment(value)
        return format_datetime(moment, "HH:mm", tzinfo=self.zone, locale=self.locale) if moment else "–"

    def ago(self, value: datetime | str | None) -> str:
        """2 hrs ago / il y a 2 h."""
        moment = self._moment(value)
        if moment is None:
            return "–"
        return format_timedelta(moment - self.now, add_direction=True, format="short", threshold=1.1, locale=self.locale)

    def compact(self, value: datetime | str | None) -> str:
        """What a table cell shows: "2 hrs ago" when recent, "29 Nov 14:02" this year, else "29 Nov 2026"."""
        moment = self._moment(value)
        if moment is None:
            return "–"
        if timedelta(0) <= self.now - moment < RECENT:
            return self.ago(moment)
        local = moment.astimezone(self.zone)
        if local.year == self.now.astimezone(self.zone).year:
            return format_datetime(moment, "d MMM HH:mm", tzinfo=self.zone, locale=self.locale)
        return format_date(local.date(), "d MMM y", locale=self.locale)

    def day(self, value: date | str | None) -> str:
        """29 Nov 2026."""
        if value is None or value == "":
            return "–"
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return format_date(day, "d MMM y", locale=self.locale)

    def short_day(self, value: date | str | None) -> str:
        """29 Nov (this year) or 29 Nov 2026."""
        if value is None or value == "":
            return "–"
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        pattern = "d MMM" if day.year == self.now.astimezone(self.zone).year else "d MMM y"
        return format_date(day, pattern, locale=self.locale)

    def number(self, value: float | None) -> str:
        """1,234 / 1 234 (a no-break space in French)."""
        return "–" if value is None else format_decimal(value, locale=self.locale)

    def percent(self, share: float) -> str:
        """0.85 -> 85% / 85 %."""
        return format_percent(share, locale=self.locale)

    def iso(self, value: datetime | str | None) -> str:
        """For <time datetime="...">."""
        moment = self._moment(value)
        return moment.isoformat(timespec="seconds") if moment else ""
