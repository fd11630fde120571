"""Unit tests for what tests/test_codes_and_days.py leaves out: business_days_between against a day-by-day
count, and the activation code's shape."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from processors.business_days import add_business_days, business_days_between, is_business_day
from processors.codes import CODE_ALPHABET, hash_activation_code, new_activation_code

pytestmark = pytest.mark.unit


def counted(start: date, end: date) -> int:
    return sum(1 for n in range(1, (end - start).days + 1) if is_business_day(start + timedelta(days=n)))


@pytest.mark.parametrize("start", [date(2025, 12, 19), date(2026, 3, 30), date(2026, 6, 26), date(2026, 9, 4), date(2026, 12, 31)])
def test_business_days_between_agrees_with_a_day_by_day_count(start: date) -> None:
    for span in [*range(0, 16), 29, 30, 31, 45, 100, 366]:
        end = start + timedelta(days=span)
        assert business_days_between(start, end) == counted(start, end), f"{start} .. {end}"


def test_business_days_between_is_zero_backwards_and_inverts_add_business_days() -> None:
    assert business_days_between(date(2026, 5, 1), date(2026, 4, 1)) == 0
    for days in (1, 5, 10, 23):
        start = date(2026, 12, 18)
        assert business_days_between(start, add_business_days(start, days)) == days


def test_good_friday_and_boxing_day_observed_2026() -> None:
    assert not is_business_day(date(2026, 4, 3))  # Good Friday
    assert not is_business_day(date(2026, 12, 28))  # Boxing Day observed (the 26th is a Saturday)
    assert is_business_day(date(2026, 4, 2))


def test_activation_codes_use_only_unambiguous_characters_in_four_groups() -> None:
    assert not set("0O1IL") & set(CODE_ALPHABET)
    for _ in range(200):
        code = new_activation_code()
        assert re.fullmatch(rf"[{CODE_ALPHABET}]{{4}}(-[{CODE_ALPHABET}]{{4}}){{3}}", code)


def test_hash_ignores_case_dashes_and_spaces_only() -> None:
    assert hash_activation_code("ABCD-EFGH-JKMN-PQRS") == hash_activation_code("abcd efgh jkmn pqrs")
    assert hash_activation_code("ABCD-EFGH-JKMN-PQRS") != hash_activation_code("ABCD-EFGH-JKMN-PQRT")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", hash_activation_code("x"))
