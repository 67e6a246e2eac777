"""The ledger in PostgreSQL, shared by every replica that points at it (psycopg 3)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from rewardgym.ledger.records import TABLES, Retention, Row, Table

__all__ = ["PostgresRecords"]

PRUNE_EVERY = 1000
"""Rows written between two prunes."""


class PostgresRecords:
    """Tables ``rewardgym_results`` and ``rewardgym_judgments``; one connection, opened on
    first use (in the event loop that uses it). Every call, the wait for the connection
    included, is bounded by ``timeout_s``; a call that overruns drops the connection (the
    next call reconnects), so a stalled server costs a caller at most that long."""

    label = "postgres"

    def __init__(self, url: str, retention: Retention | None = None, *, timeout_s: float = 2.0):
        import psycopg  # the optional "postgres" extra; fails early when missing

        self.url = url
        self.retention = retention or Retention()
        self.timeout_s = timeout_s
        self._psycopg = psycopg
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._written = 0

    @contextlib.asynccontextmanager
    async def _using(self) -> AsyncIterator[Any]:
        """The connection, alone, within ``timeout_s``; dropped when the call fails."""
        try:
            async with asyncio.timeout(self.timeout_s), self._lock:
                yield await self._connection()
        except BaseException:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.pgconn.finish()  # no goodbye round trip to a server that stalls
            raise

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            conn = await self._psycopg.AsyncConnection.connect(
                self.url,
                autocommit=True,
                connect_timeout=max(1, int(self.timeout_s)),
                options=f"-c statement_timeout={int(self.timeout_s * 1000)}",
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
        async with self._using() as conn:
            cursor = await conn.execute(
                f"SELECT value FROM rewardgym_{table} WHERE key = %s", (key,)
            )
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def put(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        # One statement for the batch (arrays unnested), not a round trip per row; the last
        # of two rows with one key wins, as in the other stores.
        latest = {r.key: r for r in rows}
        async with self._using() as conn:
            await conn.execute(
                f"INSERT INTO rewardgym_{table} (key, value, created) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[]) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
                "created = EXCLUDED.created",
                (
                    list(latest),
                    [r.value for r in latest.values()],
                    [r.created for r in latest.values()],
                ),
            )
        self._written += len(rows)
        if self._written >= PRUNE_EVERY:
            self._written = 0
            await self.prune()

    async def newest(self, table: Table, limit: int) -> list[Row]:
        async with self._using() as conn:
            cursor = await conn.execute(
                f"SELECT key, value, created FROM rewardgym_{table} ORDER BY created DESC LIMIT %s",
                (limit,),
            )
            found = await cursor.fetchall()
        return [Row(k, v, c) for k, v, c in found]

    async def prune(self) -> int:
        keep = self.retention
        dropped = 0
        async with self._using() as conn:
            for table in TABLES:
                name = f"rewardgym_{table}"
                if keep.max_age_s > 0:
                    cursor = await conn.execute(
                        f"DELETE FROM {name} WHERE created < %s", (time.time() - keep.max_age_s,)
                    )
                    dropped += cursor.rowcount
                if keep.max_rows > 0:
                    cursor = await conn.execute(
                        f"DELETE FROM {name} WHERE key IN (SELECT key FROM {name} "
                        "ORDER BY created DESC OFFSET %s)",
                        (keep.max_rows,),
                    )
                    dropped += cursor.rowcount
                if keep.max_bytes > 0:
                    size = await conn.execute(f"SELECT pg_total_relation_size('{name}')")
                    (used,) = await size.fetchone()
                    if used > keep.max_bytes // len(TABLES):  # the oldest tenth goes
                        cursor = await conn.execute(
                            f"DELETE FROM {name} WHERE key IN (SELECT key FROM {name} "
                            f"ORDER BY created LIMIT (SELECT COUNT(*) / 10 + 1 FROM {name}))"
                        )
                        dropped += cursor.rowcount
        return dropped

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._conn.close()
