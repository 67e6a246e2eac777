"""The ledger under faults and abuse (found by a red team): a store that stalls or is locked
costs a caller at most its timeout, never the results; a lookup then is a clear 503; a
retryable failure is never written over a result; contents that differ have addresses that
differ; what an address reveals holds no credentials."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from rewardgym.config import Settings
from rewardgym.errors import ForbiddenError, UnavailableError
from rewardgym.ledger import address, implementation_digest
from rewardgym.registry import RewardRegistry
from rewardgym.schema import Item, RewardSpec, ScoreOptions, ScoreRequest
from rewardgym.service import RewardService
from rewardgym.trust import Caller
from tests.conftest import Server

ITEM = Item(prompt="2+2?", response="\\boxed{4}", reference="4")


def _asked(items: list[Item], **options: object) -> ScoreRequest:
    return ScoreRequest(reward="math", items=items, options=ScoreOptions(ledger=True, **options))


async def test_a_locked_postgres_ledger_costs_at_most_its_timeout(postgres_url: str):
    import psycopg

    async with RewardService.running(Settings(cache_url=postgres_url)) as service:
        [first] = (await service.score(_asked([ITEM]))).results
        assert first.address is not None
        with psycopg.connect(postgres_url) as other:  # holds the table: every write waits
            other.execute("BEGIN")
            other.execute("LOCK TABLE rewardgym_results IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            [stalled] = (await service.score(_asked([ITEM]))).results
            assert stalled.score == 1.0 and stalled.address is None
            with pytest.raises(UnavailableError) as refused:
                await service.lookup(first.address)
            assert "127.0.0.1" not in refused.value.message  # the store's details stay inside
            assert time.monotonic() - started < 8  # two calls, each bounded by 2 s (+ reconnect)
            other.execute("ROLLBACK")
        [again] = (await service.score(_asked([ITEM]))).results  # reconnected
        assert again.address == first.address
        assert (await service.lookup(first.address)).result.score == 1.0


async def test_a_locked_sqlite_ledger_costs_at_most_its_busy_timeout(tmp_path: Path):
    async with RewardService.running(Settings(cache_dir=tmp_path)) as service:
        [first] = (await service.score(_asked([ITEM]))).results
        other = sqlite3.connect(tmp_path / "ledger.sqlite")
        other.execute("BEGIN IMMEDIATE")  # another writer (a backup, another replica's prune)
        try:
            started = time.monotonic()
            [blocked] = (await service.score(_asked([ITEM]))).results
            assert time.monotonic() - started < 4
            assert blocked.score == 1.0 and blocked.address is None
            # readers are not blocked by a writer (WAL)
            assert (await service.lookup(first.address)).result.score == 1.0  # type: ignore[arg-type]
        finally:
            other.rollback()
            other.close()


async def test_a_damaged_sqlite_ledger_is_a_503_for_lookups_and_no_failure_for_scoring(
    tmp_path: Path,
):
    (tmp_path / "ledger.sqlite").write_bytes(b"this is not a database" * 100)
    async with RewardService.running(Settings(cache_dir=tmp_path)) as service:
        [result] = (await service.score(_asked([ITEM]))).results
        assert result.score == 1.0 and result.address is None
        with pytest.raises(UnavailableError):
            await service.lookup("a" * 64)


async def test_a_timeout_is_never_recorded_over_the_result(tmp_path: Path):
    async with RewardService.running(Settings(cache_dir=tmp_path)) as service:
        [good] = (await service.score(_asked([ITEM]))).results
        [late] = (await service.score(_asked([ITEM], deadline_s=1e-6))).results
        assert late.error is not None and late.error.retryable and late.address is None
        entry = await service.lookup(good.address)  # type: ignore[arg-type]
        assert entry.result.score == 1.0 and entry.result.error is None


async def test_an_entry_over_its_size_bound_is_not_recorded(tmp_path: Path):
    settings = Settings(cache_dir=tmp_path, ledger_max_entry_bytes=4096)
    async with RewardService.running(settings) as service:
        big = ITEM.model_copy(update={"prompt": "x" * 10_000})
        small, large = (await service.score(_asked([ITEM, big]))).results
        assert small.address is not None and large.address is None
        assert large.score == 1.0


def test_items_that_differ_only_in_non_finite_numbers_have_different_addresses():
    reward = RewardRegistry([]).resolve(RewardSpec(type="string_check"))
    digest = implementation_digest(reward.implementation())
    values = [math.nan, None, math.inf, -math.inf, 2**70, 2**70 + 1]
    addresses = {address(digest, Item(response="x", reference=v)) for v in values}
    assert len(addresses) == len(values)


def test_non_finite_references_over_http_get_their_own_addresses(server: Server):
    """The body's JSON may say NaN and Infinity; each is its own content."""
    addresses = set()
    for reference in ("NaN", "null", "Infinity"):
        body = (
            '{"reward": "exact_match", "options": {"ledger": true}, '
            f'"items": [{{"response": "x", "reference": {reference}}}]}}'
        )
        headers = {"content-type": "application/json"}
        reply = httpx.post(f"{server.url}/v1/score", content=body, headers=headers, timeout=30)
        assert reply.status_code == 200, reply.text
        addresses.add(reply.json()["results"][0]["address"])
    assert None not in addresses and len(addresses) == 3


def test_an_implementation_shows_no_backend_url():
    spec = RewardSpec.model_validate(
        {
            "type": "pointwise",
            "params": {
                "backend": {"base_url": "http://user:s3cret@10.1.2.3:9/v1?key=k", "model": "m"}
            },
        }
    )
    implementation = json.dumps(RewardRegistry([]).resolve(spec).implementation())
    assert "s3cret" not in implementation and "10.1.2.3" not in implementation
    assert '"model": "m"' in implementation


def test_only_the_operator_names_a_judges_shadow():
    service = RewardService(RewardRegistry([]), Settings(inline_specs="safe"))
    spec = RewardSpec.model_validate(
        {"type": "pointwise", "params": {"backend": "judge", "shadow": "code"}}
    )
    with pytest.raises(ForbiddenError) as refused:
        service.resolve(spec, Caller(trusted=False, key_id="k"))
    assert "shadow" in refused.value.message
    asyncio.run(service.aclose())
