"""Requests-per-minute and tokens-per-minute limits (token buckets), shared by a backend."""

from __future__ import annotations

import asyncio
import time

__all__ = ["RateLimiter"]


class _Bucket:
    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = per_minute
        self.level = per_minute
        self.stamp = time.monotonic()

    def wait_for(self, amount: float) -> float:
        """Seconds to wait before ``amount`` is available (0 = take it now)."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        amount = min(amount, self.capacity)
        if self.level >= amount:
            self.level -= amount
            return 0.0
        return (amount - self.level) / self.rate


class RateLimiter:
    """Wait until a request (and its estimated tokens) fits under both limits."""

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        self._requests = _Bucket(rpm) if rpm else None
        self._tokens = _Bucket(tpm) if tpm else None
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        async with self._lock:
            for bucket, amount in ((self._requests, 1.0), (self._tokens, float(tokens))):
                if bucket is None:
                    continue
                while (delay := bucket.wait_for(amount)) > 0:
                    await asyncio.sleep(delay)
