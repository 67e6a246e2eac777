"""The ledger in a SQLite file (WAL: shared by the processes of one machine)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from rewardgym.ledger.records import TABLES, Retention, Row, Table

__all__ = ["SqliteRecords"]

PRUNE_EVERY = 1000
"""Rows written between two prunes (or ``PRUNE_EVERY_BYTES``, whichever comes first)."""
PRUNE_EVERY_BYTES = 32 * 1024 * 1024
BUSY_TIMEOUT_S = 1.0
"""How long a write waits for another writer (another process's prune, a backup) before it
fails: a caller's request never waits on the ledger longer than this."""


class SqliteRecords:
    """Tables ``results`` and ``judgments`` of one SQLite file; I/O off the event loop."""

    label = "sqlite"

    def __init__(self, path: str | Path, retention: Retention | None = None) -> None:
        self.path = str(path)
        self.retention = retention or Retention()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        self._written = 0
        self._written_bytes = 0
        with self._lock:
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes on a new file only
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            for table in TABLES:
                self._db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} "
                    "(key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
                )
                self._db.execute(f"CREATE INDEX IF NOT EXISTS {table}_created ON {table} (created)")
            self._db.commit()

    def _get(self, table: Table, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _put(self, table: Table, rows: Sequence[Row]) -> None:
        with self._lock:
            self._db.executemany(
                f"INSERT OR REPLACE INTO {table} (key, value, created) VALUES (?, ?, ?)",
                [(r.key, r.value, r.created) for r in rows],
            )
            self._db.commit()
        self._written += len(rows)
        self._written_bytes += sum(len(r.value) for r in rows)
        if self._written >= PRUNE_EVERY or self._written_bytes >= PRUNE_EVERY_BYTES:
            self._written = self._written_bytes = 0
            self._prune()

    def _newest(self, table: Table, limit: int) -> list[Row]:
        with self._lock:
            found = self._db.execute(
                f"SELECT key, value, created FROM {table} ORDER BY created DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Row(k, v, c) for k, v, c in found]

    def _prune(self) -> int:
        keep = self.retention
        dropped = 0
        with self._lock:
            for table in TABLES:
                if keep.max_age_s > 0:
                    cursor = self._db.execute(
                        f"DELETE FROM {table} WHERE created < ?", (time.time() - keep.max_age_s,)
                    )
                    dropped += cursor.rowcount
                if keep.max_rows > 0:
                    cursor = self._db.execute(
                        f"DELETE FROM {table} WHERE key IN (SELECT key FROM {table} "
                        "ORDER BY created DESC LIMIT -1 OFFSET ?)",
                        (keep.max_rows,),
                    )
                    dropped += cursor.rowcount
            self._db.commit()
            dropped += self._shrink()
        return dropped

    def _size(self) -> int:
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        (free,) = self._db.execute("PRAGMA freelist_count").fetchone()
        (page,) = self._db.execute("PRAGMA page_size").fetchone()
        return int((pages - free) * page)

    def _shrink(self) -> int:
        """Drop the oldest tenth of each table until the file holds at most ``max_bytes``,
        and give the freed pages back to the file system."""
        dropped = 0
        while self.retention.max_bytes and self._size() > self.retention.max_bytes:
            gone = 0
            for table in TABLES:
                cursor = self._db.execute(
                    f"DELETE FROM {table} WHERE key IN (SELECT key FROM {table} "
                    f"ORDER BY created LIMIT (SELECT COUNT(*) / 10 + 1 FROM {table}))"
                )
                gone += cursor.rowcount
            self._db.commit()
            dropped += gone
            if not gone:
                break
        if dropped:
            self._db.executescript("PRAGMA incremental_vacuum;")  # execute() frees one page
            self._db.commit()
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file shrinks here
        return dropped

    async def get(self, table: Table, key: str) -> str | None:
        return await asyncio.to_thread(self._get, table, key)

    async def put(self, table: Table, rows: Sequence[Row]) -> None:
        if rows:
            await asyncio.to_thread(self._put, table, rows)

    async def newest(self, table: Table, limit: int) -> list[Row]:
        return await asyncio.to_thread(self._newest, table, limit)

    async def prune(self) -> int:
        return await asyncio.to_thread(self._prune)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def aclose(self) -> None:
        self.close()
