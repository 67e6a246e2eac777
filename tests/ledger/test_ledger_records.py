"""The ledger's stores, each a real server (SQLite file, redis-server, PostgreSQL): the same
records in and out, newest first, and retention by age and by row count."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rewardgym.ledger.records import Records, Retention, Row
from rewardgym.ledger.stores import open_records


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_each_store_gives_back_what_it_was_given(store_url: str):
    records = open_records(store_url)
    try:
        now = time.time()
        await records.put("results", [Row(f"k{i}", f'{{"i": {i}}}', now + i) for i in range(5)])
        await records.put("judgments", [Row("k0", '"a judgment"', now)])
        assert await records.get("results", "k3") == '{"i": 3}'
        assert await records.get("judgments", "k0") == '"a judgment"'
        assert await records.get("results", "nowhere") is None
        await records.put("results", [Row("k3", '{"i": 33}', now + 9)])  # overwritten
        assert await records.get("results", "k3") == '{"i": 33}'
        newest = await records.newest("results", 3)
        assert [row.key for row in newest] == ["k3", "k4", "k2"]
    finally:
        await records.aclose()


async def test_each_store_keeps_at_most_its_rows_and_drops_the_old(store_url: str):
    records: Records = open_records(store_url, Retention(max_age_s=3600, max_rows=10))
    try:
        now = time.time()
        old = [Row(f"old{i}", "1", now - 7200) for i in range(3)]  # past the age
        fresh = [Row(f"new{i}", "2", now - 100 + i) for i in range(12)]
        await records.put("results", old + fresh)
        await records.prune()  # (Redis trims as it writes, the others here)
        kept = await records.newest("results", 100)
        assert [row.key for row in kept] == [f"new{i}" for i in range(11, 1, -1)]
        assert await records.get("results", "new0") is None
        assert await records.get("results", "old0") is None
    finally:
        await records.aclose()


async def test_a_sqlite_ledger_keeps_within_its_bytes_and_gives_the_space_back(tmp_path: Path):
    from rewardgym.ledger.sqlite_records import SqliteRecords

    path = tmp_path / "ledger.sqlite"
    records = SqliteRecords(path, Retention(max_age_s=0, max_rows=0, max_bytes=512 * 1024))
    try:
        now = time.time()
        rows = [Row(f"k{i:05d}", "x" * 2000, now + i) for i in range(1500)]  # about 3 MB
        await records.put("results", rows)
        await records.prune()
        assert records._size() <= 512 * 1024
        kept = await records.newest("results", 2000)
        assert kept and kept[0].key == "k01499"  # the newest stay
        assert await records.get("results", "k00000") is None  # the oldest went
    finally:
        await records.aclose()
    assert path.stat().st_size < 2 * 1024 * 1024  # the pages went back to the file system
