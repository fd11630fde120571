"""When to try a notice again after a temporary failure: doubling delays with jitter, up to a deadline."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from core.settings import OutboxSettings


def retry_delay(attempts: int, settings: OutboxSettings, rng: random.Random | None = None) -> float:
    """Seconds to wait after the attempts-th failed try: first, 2×first, 4×first… capped, each
    drawn between half and all of that so that notices deferred together do not come back together."""
    ceiling = min(settings.retry_max_seconds, settings.retry_first_seconds * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def deadline(created_at: datetime, settings: OutboxSettings) -> datetime:
    """After this a notice is no longer retried: it fails for an officer."""
    return created_at + timedelta(days=settings.retry_deadline_days)


def next_attempt(attempts: int, created_at: datetime, now: datetime, settings: OutboxSettings) -> datetime | None:
    """When to try again, or None when the deadline has passed. The last try falls on the deadline."""
    end = deadline(created_at, settings)
    if now >= end:
        return None
    return min(now + timedelta(seconds=retry_delay(attempts, settings)), end)
