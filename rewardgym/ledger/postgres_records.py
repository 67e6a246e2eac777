"""The ledger in PostgreSQL, shared by every replica that points at it (psycopg 3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from rewardgym.ledger.records import TABLES, Retention, Row, Table

__all__ = ["PostgresRecords"]

PRUNE_EVERY = 1000
"""Rows written between two prunes."""


class PostgresRecords:
    """Tables ``rewardgym_results`` and ``rewardgym_judgments``; one connection, opened on
    first use (in the event loop that uses it)."""

    label = "postgres"

    def __init__(self, url: str, retention: Retention | None = None, *, timeout_s: float = 5.0):
        import psycopg  # the optional "postgres" extra; fails early when missing

        self.url = url
        self.retention = retention or Retention()
        self.timeout_s = timeout_s
        self._psycopg = psycopg
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._written = 0

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            conn = await self._psycopg.AsyncConnection.connect(
                self.url, autocommit=True, connect_timeout=max(1, int(self.timeout_s))
            )
            for table in TABLES:
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS rewardgym_{table} "
                    "(key TEXT PRIMARY KEY, value TEXT NOT NULL, created DOUBLE PRECISION "
                    "NOT NULL)"
                )
                await conn.execute(
                    f"CREATE INDEX IF NOT EXISTS rewardgym_{table}_created "
                    f"ON rewardgym_{table} (created)"
                )
            self._conn = conn
        return self._conn

    async def get(self, table: Table, key: str) -> str | None:
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(
                f"SELECT value FROM rewardgym_{table} WHERE key = %s", (key,)
            )
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def put(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        async with self._lock:
            conn = await self._connection()
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    f"INSERT INTO rewardgym_{table} (key, value, created) VALUES (%s, %s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
                    "created = EXCLUDED.created",
                    [(r.key, r.value, r.created) for r in rows],
                )
        self._written += len(rows)
        if self._written >= PRUNE_EVERY:
            self._written = 0
            await self.prune()

    async def newest(self, table: Table, limit: int) -> list[Row]:
        async with self._lock:
            conn = await self._connection()
            cursor = await conn.execute(
                f"SELECT key, value, created FROM rewardgym_{table} ORDER BY created DESC LIMIT %s",
                (limit,),
            )
            found = await cursor.fetchall()
        return [Row(k, v, c) for k, v, c in found]

    async def prune(self) -> int:
        keep = self.retention
        dropped = 0
        async with self._lock:
            conn = await self._connection()
            for table in TABLES:
                if keep.max_age_s > 0:
                    cursor = await conn.execute(
                        f"DELETE FROM rewardgym_{table} WHERE created < %s",
                        (time.time() - keep.max_age_s,),
                    )
                    dropped += cursor.rowcount
                if keep.max_rows > 0:
                    cursor = await conn.execute(
                        f"DELETE FROM rewardgym_{table} WHERE key IN (SELECT key FROM "
                        f"rewardgym_{table} ORDER BY created DESC OFFSET %s)",
                        (keep.max_rows,),
                    )
                    dropped += cursor.rowcount
        return dropped

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()
