"""Judgment caches: same request, same model -> same answer, no call.

``SqliteCache`` keeps them on this machine's disk (SQLite, WAL; shared by the processes of one
machine). ``RedisCache`` (in ``redis_cache``) shares them between replicas.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Protocol

from rewardgym.judges.backends.base import ChatBackend, ChatRequest, ChatResponse
from rewardgym.metrics import CACHE

__all__ = [
    "CachedBackend",
    "JudgmentCache",
    "RecentJudgments",
    "SqliteCache",
    "decode_response",
    "encode_response",
]


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


class SqliteCache:
    """Key-value store of ChatResponses. Safe across threads and across processes (WAL).

    Recent entries are also kept in memory (``memory_items``), so a hit needs no thread hop.
    """

    def __init__(self, path: str | Path, memory_items: int = 100_000) -> None:
        self.path = str(path)
        self._recent = RecentJudgments(memory_items)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS judgments "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )
            self._db.commit()
        self.hits = 0
        self.misses = 0

    def _get(self, key: str) -> ChatResponse | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM judgments WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            CACHE.labels("sqlite", "miss").inc()
            return None
        self.hits += 1
        CACHE.labels("sqlite", "hit").inc()
        return decode_response(row[0])

    def _put(self, key: str, response: ChatResponse) -> None:
        value = encode_response(response)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO judgments (key, value, created) VALUES (?, ?, ?)",
                (key, value, time.time()),
            )
            self._db.commit()

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
        found = await asyncio.to_thread(self._get, key)
        if found is not None:
            self._recent.put(key, found)
        return found

    async def put(self, key: str, response: ChatResponse) -> None:
        self._recent.put(key, response)
        await asyncio.to_thread(self._put, key, response)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def aclose(self) -> None:
        self.close()
