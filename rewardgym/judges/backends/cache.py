"""A judgment cache on disk (SQLite, WAL): same request, same model -> same answer, no call."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path

from rewardgym.judges.backends.base import ChatResponse

__all__ = ["SqliteCache"]


class SqliteCache:
    """Key-value store of ChatResponses. Safe across threads and across processes (WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
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

    async def get(self, key: str) -> ChatResponse | None:
        return await asyncio.to_thread(self._get, key)

    async def put(self, key: str, response: ChatResponse) -> None:
        await asyncio.to_thread(self._put, key, response)

    def close(self) -> None:
        with self._lock:
            self._db.close()
