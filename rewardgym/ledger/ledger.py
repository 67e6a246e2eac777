"""The reward ledger: results recorded under their content address, looked up by it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel

from rewardgym.ledger.address import address, implementation_digest
from rewardgym.ledger.records import Records, Row
from rewardgym.schema import LedgerEntry, Result

__all__ = ["Ledger"]


class Ledger:
    """Results in the ``results`` table of ``records``, each with its item and the reward's
    implementation, so that it can be looked up, re-scored (``rewardgym rescore``) and
    replayed (``rewardgym replay``)."""

    def __init__(self, records: Records) -> None:
        self.records = records

    async def record(
        self,
        reward: str,
        implementation: dict[str, Any],
        items: Sequence[BaseModel],
        results: Sequence[Result],
    ) -> list[str]:
        """Write each result under its address; the addresses, in order."""
        digest = implementation_digest(implementation)
        now = time.time()
        addresses = [address(digest, item) for item in items]
        implementation_json = orjson.dumps(implementation).decode()
        rows = [
            Row(
                key,
                '{{"address":"{}","reward":{},"created":{!r},"implementation":{},'
                '"item":{},"result":{}}}'.format(
                    key,
                    orjson.dumps(reward).decode(),
                    now,
                    implementation_json,
                    item.model_dump_json(),
                    result.model_dump_json(exclude={"address"}),
                ),
                now,
            )
            for key, item, result in zip(addresses, items, results, strict=True)
        ]
        await self.records.put("results", rows)
        return addresses

    async def lookup(self, key: str) -> LedgerEntry | None:
        """The entry at ``key``, or None."""
        value = await self.records.get("results", key)
        return None if value is None else LedgerEntry.model_validate_json(value)

    async def newest(self, limit: int) -> list[LedgerEntry]:
        """At most ``limit`` entries, newest first."""
        rows = await self.records.newest("results", limit)
        return [LedgerEntry.model_validate_json(row.value) for row in rows]

    async def aclose(self) -> None:
        await self.records.aclose()
