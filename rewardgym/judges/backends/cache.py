"""A judgment cache on disk (SQLite, WAL): same request, same model -> same answer, no call."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, replace
from pathlib import Path

from rewardgym.judges.backends.base import ChatResponse

__all__ = ["SqliteCache"]


class SqliteCache:
    """Key-value store of ChatResponses. Safe across threads and across processes (WAL).

    Recent entries are also kept in memory (``memory_items``), so a hit needs no thread hop.
    """

    def __init__(self, path: str | Path, memory_items: int = 100_000) -> None:
        self.path = str(path)
        self._memory: OrderedDict[str, ChatResponse] = OrderedDict()
        self._memory_items = memory_items
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
            return None
        self.hits += 1
        data = json.loads(row[0])
        if data.get("logprobs") is not None:
            data["logprobs"] = [[tuple(alt) for alt in tok] for tok in data["logprobs"]]
        return ChatResponse(**{**data, "cached": True})

    def _put(self, key: str, response: ChatResponse) -> None:
        value = json.dumps({**asdict(response), "cached": False})
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO judgments (key, value, created) VALUES (?, ?, ?)",
                (key, value, time.time()),
            )
            self._db.commit()

    def _remember(self, key: str, response: ChatResponse) -> None:
        self._memory[key] = response
        self._memory.move_to_end(key)
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)

    async def get(self, key: str) -> ChatResponse | None:
        hit = self._memory.get(key)
        if hit is not None:
            self.hits += 1
            self._memory.move_to_end(key)
            return replace(hit, cached=True)
        found = await asyncio.to_thread(self._get, key)
        if found is not None:
            self._remember(key, found)
        return found

    async def put(self, key: str, response: ChatResponse) -> None:
        self._remember(key, response)
        await asyncio.to_thread(self._put, key, response)

    def close(self) -> None:
        with self._lock:
            self._db.close()
