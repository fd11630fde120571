"""What stands between a flood of sign-ins and the console: rate limits per client address and per
account name (the `limits` library, moving windows kept in memory), and a bound on the Argon2 checks
that run at once (each takes 64 MiB) and on the threads sign-ins may hold."""

from __future__ import annotations

import math
import threading
import time

import anyio
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from core.settings import ConsoleSettings


class SignInGuard:
    def __init__(self, settings: ConsoleSettings) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.per_address: list[RateLimitItem] = parse_many(settings.sign_in_limit_per_address)
        self.per_name: list[RateLimitItem] = parse_many(settings.sign_in_limit_per_name)
        self.checks = threading.BoundedSemaphore(settings.parallel_password_checks)
        self._threads: anyio.CapacityLimiter | None = None
        self._thread_count = 4 * settings.parallel_password_checks

    @property
    def threads(self) -> anyio.CapacityLimiter:
        """Worker threads sign-ins may hold at once (the rest wait without one), so pages keep theirs."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(self._thread_count)
        return self._threads

    def admit(self, address: str | None, name: str) -> int | None:
        """Count this attempt; None if it may go on, else the seconds to wait before the next one."""
        for limits, keys in ((self.per_address, ("address", address or "unknown")), (self.per_name, ("name", account_key(name)))):
            for limit in limits:
                if not self.limiter.hit(limit, *keys):
                    return self._retry_after(limits, keys)
        return None

    def _retry_after(self, limits: list[RateLimitItem], keys: tuple[str, str]) -> int:
        now = time.time()
        waits = [self.limiter.get_window_stats(limit, *keys) for limit in limits]
        return max(1, *(math.ceil(stats.reset_time - now) for stats in waits if stats.remaining == 0))


def account_key(name: str) -> str:
    return name.strip().lower()[:64]
