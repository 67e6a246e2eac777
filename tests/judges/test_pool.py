"""The kill-able worker pool: deadlines, crashes, stragglers (stdlib functions as targets)."""

from __future__ import annotations

import asyncio
import time

import pytest

from rewardgym.judges.runtime.pool import KillablePool, WorkerCrashedError, WorkerError


async def test_pool_returns_values_and_reports_errors_as_data():
    pool = KillablePool("math:sqrt", size=2)
    try:
        assert await pool.run((16.0,), timeout_s=10) == 4.0
        with pytest.raises(WorkerError) as info:
            await pool.run((-1.0,), timeout_s=10)
        assert info.value.kind == "ValueError"
        assert await pool.run((9.0,), timeout_s=10) == 3.0
    finally:
        await pool.close()


async def test_overrunning_worker_is_killed_and_replaced():
    pool = KillablePool("time:sleep", size=1, straggler_after_s=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await pool.run((30,), timeout_s=1.0)
        assert time.monotonic() - started < 5
        assert pool.stats["timeouts"] == 1
        assert await pool.run((0.01,), timeout_s=10) is None  # the pool keeps serving
    finally:
        await pool.close()


async def test_crashed_worker_is_an_error_and_the_pool_recovers():
    pool = KillablePool("os:_exit", size=1)
    try:
        with pytest.raises(WorkerCrashedError, match="worker died"):
            await pool.run((3,), timeout_s=10)
    finally:
        await pool.close()
    pool = KillablePool("math:sqrt", size=1)
    try:
        assert await pool.run((4.0,), timeout_s=10) == 2.0
    finally:
        await pool.close()


@pytest.mark.slow
async def test_stragglers_do_not_block_other_calls():
    """Two hung calls on a pool of size 2: quick calls still finish long before the deadline."""
    pool = KillablePool("time:sleep", size=2, straggler_after_s=0.2)
    await pool.start()
    try:
        hung = [asyncio.ensure_future(pool.run((60,), timeout_s=6.0)) for _ in range(2)]
        await asyncio.sleep(0.3)
        started = time.monotonic()
        quick = await asyncio.gather(*(pool.run((0.01,), timeout_s=10) for _ in range(10)))
        quick_s = time.monotonic() - started
        assert quick == [None] * 10
        assert quick_s < 4.0, f"quick calls waited {quick_s:.1f} s behind hung ones"
        for outcome in await asyncio.gather(*hung, return_exceptions=True):
            assert isinstance(outcome, TimeoutError)
    finally:
        await pool.close()


def test_a_second_event_loop_gets_a_fresh_shared_pool():
    """asyncio.run twice in one script (a common in-process use) must keep working."""
    from rewardgym.judges.runtime.shared_pools import shared_pool

    async def once() -> float:
        return float(await shared_pool("math:sqrt", size=1).run((49.0,), timeout_s=10))

    assert asyncio.run(once()) == 7.0
    assert asyncio.run(once()) == 7.0


async def test_a_target_that_cannot_load_fails_calls_instead_of_hanging():
    pool = KillablePool("rewardgym_no_such_module:fn", size=1, start_timeout_s=30)
    try:
        with pytest.raises(WorkerCrashedError, match="no worker could start"):
            await asyncio.wait_for(pool.run((), timeout_s=5), timeout=60)
    finally:
        await pool.close()


async def test_chunks_keep_per_call_deadlines_and_rerun_what_a_kill_cut_off():
    """A chunk goes to a worker in one round trip; a call past its own time is killed with
    its worker, and the calls after it in the chunk run in another worker."""
    from rewardgym.judges.runtime.chunks import run_chunked

    pool = KillablePool("time:sleep", size=2, straggler_after_s=0.2)
    try:
        calls = [(0.01,)] * 30
        calls[3] = (5.0,)  # killed at its 0.5 s
        calls[17] = (5.0,)
        replies = await run_chunked(pool, calls, timeout_s=0.5, max_chunk=8)
        kinds = [kind for kind, _ in replies]
        assert kinds[3] == kinds[17] == "timeout"
        assert kinds.count("ok") == 28, replies
        assert pool.stats["timeouts"] == 2
        # An error in the target is that call's reply, and the chunk goes on.
        bad = await run_chunked(pool, [(0.0,), ("x",), (0.0,)], timeout_s=1.0)
        assert [k for k, _ in bad] == ["ok", "err", "ok"]
    finally:
        await pool.close()


async def test_chunks_not_started_by_the_deadline_time_out_without_running():
    import time

    from rewardgym.judges.runtime.chunks import run_chunked

    pool = KillablePool("time:sleep", size=1, straggler_after_s=10)
    try:
        deadline = time.monotonic() + 0.6
        replies = await run_chunked(pool, [(0.2,)] * 12, timeout_s=5.0, deadline=deadline)
        kinds = [kind for kind, _ in replies]
        assert "ok" in kinds and "timeout" in kinds, kinds
        assert time.monotonic() < deadline + 1.0
    finally:
        await pool.close()


def _minor_faults(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])


def test_worker_calls_that_recurse_fault_in_no_fresh_stack_memory():
    """A worker's calls run in one data-stack chunk that stays mapped (``zygote._roomy``):
    recursion that goes back and forth across CPython's 16 KiB chunk ends (here
    ``copy.deepcopy`` of nested lists, 20 to 400 deep) maps no fresh memory per call.
    Without it, this costs about 15 page faults a call (and math-verify 450-870)."""
    from rewardgym.judges.runtime.zygote import Zygote

    def nested(depth: int) -> list[object]:
        value: list[object] = []
        for _ in range(depth):
            value = [value]
        return value

    zygote = Zygote("copy:deepcopy", ([],))
    worker = zygote.fork()
    try:
        calls = [(nested(depth),) for depth in range(20, 400, 3)]
        for args in calls:  # the chunk's pages are touched once
            worker.call(args, 10)
        before = _minor_faults(worker.pid)
        for args in calls:
            worker.call(args, 10)
        per_call = (_minor_faults(worker.pid) - before) / len(calls)
    finally:
        worker.kill()
        zygote.close()
    assert per_call < 2, f"{per_call:.1f} page faults a call"
