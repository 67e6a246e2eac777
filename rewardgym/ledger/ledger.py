"""The reward ledger: results recorded under their content address, looked up by it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from rewardgym.ledger.address import address, implementation_digest
from rewardgym.ledger.records import Records, Row
from rewardgym.schema import LedgerEntry, Result

__all__ = ["MAX_ENTRY_BYTES", "Ledger"]

log = logging.getLogger(__name__)

MAX_ENTRY_BYTES = 256 * 1024
"""A result whose entry (its item included) is larger is not recorded."""


class Ledger:
    """Results in the ``results`` table of ``records``, each with its item and the reward's
    implementation, so that it can be looked up, re-scored (``rewardgym rescore``) and
    replayed (``rewardgym replay``)."""

    def __init__(self, records: Records, max_entry_bytes: int = MAX_ENTRY_BYTES) -> None:
        self.records = records
        self.max_entry_bytes = max_entry_bytes

    async def record(
        self,
        reward: str,
        implementation: dict[str, Any],
        items: Sequence[BaseModel],
        results: Sequence[Result],
    ) -> list[str | None]:
        """Write each result under its address; the addresses, in order. None for a result
        that is not recorded: a retryable failure (a timeout, a backend down: not what this
        content scores, and never written over what it does) or an entry over
        ``max_entry_bytes``."""
        digest = implementation_digest(implementation)
        now = time.time()
        reward_json = orjson.dumps(reward).decode()
        implementation_json = orjson.dumps(implementation).decode()
        head = f'{{"reward":{reward_json},"created":{now!r},"implementation":{implementation_json},'
        addresses: list[str | None] = []
        rows = []
        for item, result in zip(items, results, strict=True):
            if result.error is not None and result.error.retryable:
                addresses.append(None)
                continue
            key = address(digest, item)
            item_json = item.model_dump_json()
            result_json = result.model_dump_json(exclude={"address"})
            value = f'{head}"address":"{key}","item":{item_json},"result":{result_json}}}'
            if len(value) > self.max_entry_bytes:
                addresses.append(None)
                continue
            addresses.append(key)
            rows.append(Row(key, value, now))
        await self.records.put("results", rows)
        return addresses

    async def lookup(self, key: str) -> LedgerEntry | None:
        """The entry at ``key``, or None."""
        value = await self.records.get("results", key)
        return None if value is None else LedgerEntry.model_validate_json(value)

    async def newest(self, limit: int) -> list[LedgerEntry]:
        """At most ``limit`` entries, newest first; rows that are no entry (written by
        something else, or damaged) are left out, with a warning."""
        entries = []
        bad = 0
        for row in await self.records.newest("results", limit):
            try:
                entries.append(LedgerEntry.model_validate_json(row.value))
            except ValidationError:
                bad += 1
        if bad:
            log.warning("%d of the ledger's newest %d rows are no entry; left out", bad, limit)
        return entries

    async def aclose(self) -> None:
        await self.records.aclose()
