"""A judgment cache in Redis, shared by every replica that points at the same Redis.

Redis is an optimisation, never a dependency of a result: when it is down or slow (each call
bounded by ``timeout_s``), a lookup is a miss and a store is skipped, the failure is logged
once per outage and counted (``rewardgym_cache_total{cache="redis", outcome="error"}``), and
Redis is left alone for ``rest_s`` before the next try. Judging goes on without the cache.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rewardgym.judges.backends.base import ChatResponse
from rewardgym.judges.backends.cache import RecentJudgments, decode_response, encode_response
from rewardgym.metrics import CACHE

__all__ = ["RedisCache"]

log = logging.getLogger(__name__)


class RedisCache:
    """Judgments under ``{prefix}{key}`` with a TTL; recent ones also kept in memory."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "rewardgym:judgment:",
        ttl_s: float | None = 30 * 24 * 3600,
        timeout_s: float = 0.5,
        rest_s: float = 5.0,
        memory_items: int = 10_000,
    ) -> None:
        import redis.asyncio as redis  # the optional "redis" extra

        self.url = url
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.rest_s = rest_s
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._recent = RecentJudgments(memory_items)
        self._resting_until = 0.0
        self.hits = 0
        self.misses = 0
        self.errors = 0

    def _usable(self) -> bool:
        return time.monotonic() >= self._resting_until

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        CACHE.labels("redis", "error").inc()
        if self._resting_until == 0.0 or time.monotonic() - self._resting_until > self.rest_s:
            log.warning(
                "judgment cache %s unavailable (%s: %s); judging without it, retrying in %g s",
                self.url,
                type(exc).__name__,
                exc,
                self.rest_s,
            )
        self._resting_until = time.monotonic() + self.rest_s

    def peek(self, key: str) -> ChatResponse | None:
        """The judgment if it is in memory (no I/O, no waiting), else None."""
        hit = self._recent.get(key)
        if hit is not None:
            self.hits += 1
        return hit

    async def get(self, key: str) -> ChatResponse | None:
        hit = self._recent.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        if not self._usable():
            return None
        try:
            value = await self._client.get(self.prefix + key)
        except Exception as exc:  # redis errors, timeouts, OS errors: all a miss
            self._failed(exc)
            return None
        if value is None:
            self.misses += 1
            CACHE.labels("redis", "miss").inc()
            return None
        self.hits += 1
        CACHE.labels("redis", "hit").inc()
        found = decode_response(value)
        self._recent.put(key, found)
        return found

    async def put(self, key: str, response: ChatResponse) -> None:
        self._recent.put(key, response)
        if not self._usable():
            return
        try:
            ttl = int(self.ttl_s) if self.ttl_s else None
            await self._client.set(self.prefix + key, encode_response(response), ex=ttl)
        except Exception as exc:
            self._failed(exc)

    async def aclose(self) -> None:
        await self._client.aclose()
