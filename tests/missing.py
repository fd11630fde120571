"""Tests that need a system server or program the machine lacks: skipped naming it, or failed under CI."""

from __future__ import annotations

import os

import pytest


def require(missing_reason: str | None, what: str) -> None:
    """Go on when missing_reason is None; otherwise skip naming what is missing (fail when CI=true)."""
    if missing_reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{missing_reason} (CI=true: {what} may not be skipped)", pytrace=False)
    pytest.skip(missing_reason)
