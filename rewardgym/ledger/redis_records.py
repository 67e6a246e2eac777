"""The ledger in Redis, shared by every replica that points at it.

A record is ``{prefix}{table}:{key}`` with a TTL (the retention's age); each table also has a
sorted set of its keys by time, for ``newest`` and for the row bound.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rewardgym.ledger.records import TABLES, Retention, Row, Table

__all__ = ["RedisRecords"]


class RedisRecords:
    """Tables as key prefixes of one Redis database. Each call bounded by ``timeout_s``."""

    label = "redis"

    def __init__(
        self,
        url: str,
        retention: Retention | None = None,
        *,
        prefix: str = "rewardgym:",
        timeout_s: float = 0.5,
    ) -> None:
        import redis.asyncio as redis  # the optional "redis" extra

        self.url = url
        self.retention = retention or Retention()
        self.prefix = prefix
        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def _key(self, table: Table, key: str) -> str:
        return f"{self.prefix}{table}:{key}"

    def _index(self, table: Table) -> str:
        return f"{self.prefix}{table}:by-time"

    async def get(self, table: Table, key: str) -> str | None:
        value = await self._client.get(self._key(table, key))
        return None if value is None else value.decode() if isinstance(value, bytes) else value

    async def put(self, table: Table, rows: Sequence[Row]) -> None:
        if not rows:
            return
        ttl = int(self.retention.max_age_s) or None
        async with self._client.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.set(self._key(table, row.key), row.value, ex=ttl)
            pipe.zadd(self._index(table), {row.key: row.created for row in rows})
            if self.retention.max_rows > 0:
                # The oldest past the bound leave the index here; their records by ``prune``
                # (or their TTL).
                pipe.zcard(self._index(table))
            replies = await pipe.execute()
        if self.retention.max_rows > 0 and replies[-1] > self.retention.max_rows * 1.1:
            await self._trim(table)

    async def _trim(self, table: Table) -> int:
        index = self._index(table)
        excess = await self._client.zcard(index) - self.retention.max_rows
        dropped: list[Any] = []
        if excess > 0:
            dropped += await self._client.zrange(index, 0, excess - 1)
        if self.retention.max_age_s > 0:
            dropped += await self._client.zrangebyscore(
                index, "-inf", time.time() - self.retention.max_age_s
            )
        if dropped:
            keys = [k.decode() if isinstance(k, bytes) else k for k in dropped]
            await self._client.delete(*(self._key(table, k) for k in keys))
            await self._client.zrem(index, *keys)
        return len(set(dropped))

    async def newest(self, table: Table, limit: int) -> list[Row]:
        found = await self._client.zrevrange(self._index(table), 0, limit - 1, withscores=True)
        if not found:
            return []
        keys = [k.decode() if isinstance(k, bytes) else k for k, _ in found]
        values = await self._client.mget([self._key(table, k) for k in keys])
        return [
            Row(k, v.decode() if isinstance(v, bytes) else v, float(created))
            for k, v, (_, created) in zip(keys, values, found, strict=True)
            if v is not None  # expired: its index entry goes at the next prune
        ]

    async def prune(self) -> int:
        return sum([await self._trim(table) for table in TABLES])

    async def aclose(self) -> None:
        await self._client.aclose()
