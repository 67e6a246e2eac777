"""Where the ledger keeps its records: one key-value mechanism with retention, under two
tables, ``results`` (every recorded result, by content address) and ``judgments`` (every LLM
judge answer, by request; the judgment cache is this table).

``rewardgym.ledger.stores.open_records(url)`` picks a store: Redis, PostgreSQL or a SQLite
file (the default: one machine, several processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["TABLES", "Records", "Retention", "Row", "Table"]

Table = Literal["results", "judgments"]
TABLES: tuple[Table, ...] = ("results", "judgments")


@dataclass(frozen=True)
class Retention:
    """How long records live: at most ``max_age_s`` seconds (0: for ever), at most
    ``max_rows`` per table and ``max_bytes`` in all (SQLite, PostgreSQL; Redis is bounded by
    its own ``maxmemory``), the oldest dropped first (0: no bound)."""

    max_age_s: float = 30 * 24 * 3600
    max_rows: int = 1_000_000
    max_bytes: int = 4 * 1024**3


@dataclass(frozen=True)
class Row:
    """One record: ``value`` (JSON text) under ``key``, written at ``created`` (epoch s)."""

    key: str
    value: str
    created: float


class Records(Protocol):
    """A store of JSON text by key, in tables, with retention."""

    label: str
    """Its kind in metrics: sqlite, redis or postgres."""

    async def get(self, table: Table, key: str) -> str | None: ...

    async def put(self, table: Table, rows: Sequence[Row]) -> None:
        """Write (or overwrite) every row, in one round trip where the store allows."""

    async def newest(self, table: Table, limit: int) -> list[Row]:
        """At most ``limit`` rows, newest first."""

    async def prune(self) -> int:
        """Drop what the retention no longer keeps; how many rows went."""

    async def aclose(self) -> None: ...
