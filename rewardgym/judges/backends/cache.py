"""The judgment cache: same request, same model -> same answer, no call.

It is a view of the reward ledger (``rewardgym.ledger``): judgments are the ledger's
``judgments`` table, in the same store as recorded results (a SQLite file on this machine,
or Redis or PostgreSQL shared by every replica), under the same retention.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from dataclasses import asdict, replace
from typing import Any, Protocol

from rewardgym.judges.backends.base import ChatBackend, ChatRequest, ChatResponse
from rewardgym.ledger.records import Records, Row
from rewardgym.metrics import CACHE

__all__ = [
    "CachedBackend",
    "JudgmentCache",
    "RecentJudgments",
    "StoredJudgments",
    "decode_response",
    "encode_response",
]


log = logging.getLogger(__name__)


class JudgmentCache(Protocol):
    """What a backend needs of a cache. A cache that fails answers a miss, never an error."""

    async def get(self, key: str) -> ChatResponse | None: ...

    async def put(self, key: str, response: ChatResponse) -> None: ...

    async def aclose(self) -> None: ...


class CachedBackend:
    """Any backend, its answers kept in a cache: the same request to the same model at the
    same ``origin`` (its servers) is answered from the cache, with no call (one wrapper for
    every kind of backend)."""

    def __init__(self, inner: ChatBackend, cache: JudgmentCache, origin: str = "") -> None:
        self.inner = inner
        self.cache = cache
        self.model = inner.model
        self._key_model = f"{inner.model}\x00{origin}" if origin else inner.model
        self.stats = inner.stats
        self.stats.setdefault("cache_hits", 0)

    def peek(self, request: ChatRequest) -> ChatResponse | None:
        """The answer if the cache holds it in memory, at once; else None (ask ``chat``)."""
        peek = getattr(self.cache, "peek", None)
        hit = peek(request.cache_key(self._key_model)) if peek is not None else None
        if hit is not None:
            self.stats["cache_hits"] += 1
        return hit

    async def chat(self, request: ChatRequest) -> ChatResponse:
        key = request.cache_key(self._key_model)
        hit = await self.cache.get(key)
        if hit is not None:
            self.stats["cache_hits"] += 1
            return hit
        response = await self.inner.chat(request)
        await self.cache.put(key, response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
        await self.cache.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # the backend's own (warm, endpoints, ...)


def encode_response(response: ChatResponse) -> str:
    """JSON text of a response as stored (``cached`` false: it is set when read back)."""
    return json.dumps({**asdict(response), "cached": False})


def decode_response(value: str | bytes) -> ChatResponse:
    """A stored response, marked ``cached``."""
    data: dict[str, Any] = json.loads(value)
    if data.get("logprobs") is not None:
        data["logprobs"] = [[tuple(alt) for alt in tok] for tok in data["logprobs"]]
    return ChatResponse(**{**data, "cached": True})


class RecentJudgments:
    """The newest judgments in memory, at most ``size``: a hit needs no I/O."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, ChatResponse] = OrderedDict()
        self._hits = CACHE.labels("memory", "hit")

    def get(self, key: str) -> ChatResponse | None:
        """The judgment, marked ``cached`` (shared by every hit: readers do not change it)."""
        hit = self._items.get(key)
        if hit is None:
            return None
        self._items.move_to_end(key)
        self._hits.inc()
        return hit

    def put(self, key: str, response: ChatResponse) -> None:
        self._items[key] = response if response.cached else replace(response, cached=True)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class StoredJudgments:
    """The judgment cache: the ledger's ``judgments`` table (``rewardgym.ledger.records``:
    SQLite, Redis or PostgreSQL, with the ledger's retention), the newest also in memory
    (``memory_items``) so that a hit needs no I/O.

    The store is an optimisation, never a dependency of a result: when it fails or is slow
    (each call is bounded by ``timeout_s``), a lookup is a miss and a store is skipped, the
    failure is logged once per outage and counted (``rewardgym_cache_total{outcome="error"}``)
    and the store is left alone for ``rest_s`` before the next try.
    """

    def __init__(
        self,
        records: Records,
        memory_items: int = 100_000,
        rest_s: float = 5.0,
        timeout_s: float = 2.0,
    ) -> None:
        self.records = records
        self.rest_s = rest_s
        self.timeout_s = timeout_s
        self._recent = RecentJudgments(memory_items)
        self._resting_until = 0.0
        self._label = records.label
        self.hits = 0
        self.misses = 0
        self.errors = 0

    def _usable(self) -> bool:
        return time.monotonic() >= self._resting_until

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        CACHE.labels(self._label, "error").inc()
        if self._resting_until == 0.0 or time.monotonic() - self._resting_until > self.rest_s:
            log.warning(
                "judgment cache (%s) unavailable (%s: %s); judging without it, retrying in %g s",
                self._label,
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
        hit = self.peek(key)
        if hit is not None or not self._usable():
            return hit
        try:
            value = await asyncio.wait_for(self.records.get("judgments", key), self.timeout_s)
        except Exception as exc:  # store errors, timeouts, OS errors: all a miss
            self._failed(exc)
            return None
        if value is None:
            self.misses += 1
            CACHE.labels(self._label, "miss").inc()
            return None
        self.hits += 1
        CACHE.labels(self._label, "hit").inc()
        found = decode_response(value)
        self._recent.put(key, found)
        return found

    async def put(self, key: str, response: ChatResponse) -> None:
        self._recent.put(key, response)
        if not self._usable():
            return
        try:
            row = Row(key, encode_response(response), time.time())
            await asyncio.wait_for(self.records.put("judgments", [row]), self.timeout_s)
        except Exception as exc:
            self._failed(exc)

    async def aclose(self) -> None:
        await self.records.aclose()
