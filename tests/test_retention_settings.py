"""Retention and storage settings: the legal minimum is enforced with a message that cites it."""

from __future__ import annotations

import pytest

from core.errors import SettingsError
from core.settings import load_settings
from processors.retention import years_before

pytestmark = pytest.mark.unit


def test_defaults_keep_two_years_and_a_quarantine_window() -> None:
    settings = load_settings(environ={})
    assert settings.retention.years_after_last_activity == 2
    assert settings.retention.quarantine_days == 90
    assert settings.storage.backend == "filesystem"


def test_less_than_two_years_is_refused_citing_the_privacy_regulations() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={"CERS_RETENTION__YEARS_AFTER_LAST_ACTIVITY": "1"})
    message = str(refused.value)
    assert "retention.years_after_last_activity" in message and "Privacy Regulations" in message and "two years" in message
    assert "CERS_RETENTION__YEARS_AFTER_LAST_ACTIVITY" in message
    assert load_settings(environ={"CERS_RETENTION__YEARS_AFTER_LAST_ACTIVITY": "7"}).retention.years_after_last_activity == 7


def test_storage_backend_is_filesystem_or_database() -> None:
    assert load_settings(environ={"CERS_STORAGE__BACKEND": "database"}).storage.backend == "database"
    with pytest.raises(SettingsError, match=r"storage\.backend"):
        load_settings(environ={"CERS_STORAGE__BACKEND": "s3"})


def test_years_before_handles_the_29th_of_february() -> None:
    from datetime import UTC, datetime

    assert years_before(datetime(2028, 2, 29, 12, tzinfo=UTC), 2) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert years_before(datetime(2027, 6, 1, tzinfo=UTC), 2) == datetime(2025, 6, 1, tzinfo=UTC)
