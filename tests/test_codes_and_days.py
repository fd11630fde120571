from datetime import date

import pytest

from processors.business_days import (
    add_business_days,
    business_days_between,
    due_date,
    is_business_day,
)
from processors.codes import (
    AUTHORIZATION_ID,
    activation_code_matches,
    hash_activation_code,
    new_activation_code,
    new_authorization_id,
)

pytestmark = pytest.mark.unit


def test_authorization_ids_never_have_z_second() -> None:
    ids = [new_authorization_id() for _ in range(3000)]
    assert all(AUTHORIZATION_ID.fullmatch(i) for i in ids)
    assert not any(i[1] == "Z" for i in ids)
    assert len({i[1] for i in ids}) == 25


def test_activation_code_is_random_and_only_its_hash_matches() -> None:
    codes = {new_activation_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = codes.pop()
    stored = hash_activation_code(code)
    assert code not in stored
    assert activation_code_matches(code.lower().replace("-", " "), stored)
    assert not activation_code_matches(new_activation_code(), stored)


def test_federal_holidays_are_not_business_days() -> None:
    assert not is_business_day(date(2026, 7, 1))  # Canada Day
    assert not is_business_day(date(2026, 12, 25))
    assert not is_business_day(date(2026, 11, 28))  # Saturday
    assert is_business_day(date(2026, 11, 26))


def test_service_level_due_date_skips_weekends_and_holidays() -> None:
    assert due_date(date(2026, 11, 26)) == date(2026, 12, 3)
    assert due_date(date(2026, 12, 23)) == date(2027, 1, 4)
    assert add_business_days(date(2026, 6, 30), 1) == date(2026, 7, 2)
    assert business_days_between(date(2026, 11, 26), date(2026, 12, 3)) == 5
