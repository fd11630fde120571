"""Reading the dates applicants write: ISO, YYYY/MM/DD, and DD/MM/YYYY when it cannot be MM/DD."""

from __future__ import annotations

import re
from datetime import date


class DateProblem(ValueError):
    def __init__(self, code: str, en: str, fr: str) -> None:
        super().__init__(en)
        self.code, self.en, self.fr = code, en, fr


YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
YEAR_LAST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
ACCEPTED_EN = "Write the date as YYYY-MM-DD."
ACCEPTED_FR = "Inscrivez la date sous la forme AAAA-MM-JJ."


def parse_form_date(text: str) -> date:
    """The date a form field holds; DateProblem says why it cannot be read."""
    value = text.strip()
    if match := YEAR_FIRST.fullmatch(value):
        year, month, day = (int(part) for part in match.groups())
        return _make(year, month, day)
    if match := YEAR_LAST.fullmatch(value):
        first, second, year = (int(part) for part in match.groups())
        if first <= 12 and second <= 12 and first != second:
            raise DateProblem(
                "date_ambiguous",
                f"The date {value!r} could be read two ways. {ACCEPTED_EN}",
                f"La date {value!r} peut se lire de deux façons. {ACCEPTED_FR}",
            )
        return _make(year, second, first)
    raise DateProblem(
        "date_invalid", f"The date {value!r} cannot be read. {ACCEPTED_EN}", f"La date {value!r} est illisible. {ACCEPTED_FR}"
    )


def _make(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DateProblem(
            "date_invalid",
            f"{year:04d}-{month:02d}-{day:02d} is not a calendar date. {ACCEPTED_EN}",
            f"{year:04d}-{month:02d}-{day:02d} n'est pas une date valide. {ACCEPTED_FR}",
        ) from None
