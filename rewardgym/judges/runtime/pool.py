"""A pool of worker processes that can be killed: CPU-bound work with hard deadlines.

Each worker runs one call at a time. A call's deadline counts from its dispatch to a worker;
a worker that overruns it is killed (SIGKILL) and replaced, the call raises ``TimeoutError``
and the pool keeps serving. A call that has run longer than ``straggler_after_s`` stops
counting against the pool's ``size``, so a few pathological inputs cannot starve the rest:
other calls get a fresh worker (up to ``max_workers`` processes in all). A call still running
at half its deadline drops to the lowest CPU priority, so that it slows nobody while it runs
out its deadline (a slow but honest call keeps its priority until then). Workers are
forked from a warm template (``rewardgym.judges.runtime.zygote``), so a replacement is ready
in milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from rewardgym.judges.runtime.worker_supply import WorkerSupply
from rewardgym.judges.runtime.zygote import Worker, WorkerCrashedError, WorkerError

__all__ = ["KillablePool", "WorkerCrashedError", "WorkerError"]


class KillablePool:
    """Run ``target(*args)`` (``"package.module:function"``) in worker processes.

    Args:
        target: import path of the function the workers run.
        size: calls that run at once (default: the number of CPUs, at least 2).
        spares: warm workers kept beyond ``size``, ready to replace a straggler at once.
        max_workers: processes at most, stragglers included (default ``size + 8``).
        straggler_after_s: after this long a call no longer holds one of the ``size`` slots.
        straggler_factor: ...or after this many times the typical call, if that is longer.
        demote_after_fraction: a call still running after this fraction of its deadline is
            most likely pathological: its process drops to the lowest CPU priority.
        warmup: arguments for one call each worker makes before it is ready (imports, caches).
        start_timeout_s: how long a new worker may take to become ready.
    """

    def __init__(
        self,
        target: str,
        *,
        size: int | None = None,
        spares: int = 1,
        max_workers: int | None = None,
        straggler_after_s: float = 0.2,
        straggler_factor: float = 10.0,
        demote_after_fraction: float = 0.5,
        warmup: tuple[Any, ...] | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.target = target
        self.size = size or max(2, os.cpu_count() or 2)
        self.spares = spares
        self.max_workers = max(max_workers or self.size + 8, self.size + spares)
        self.straggler_after_s = straggler_after_s
        self.straggler_factor = straggler_factor
        self.demote_after_fraction = demote_after_fraction
        self._typical_s = 0.0  # moving average of the calls' running time
        self.warmup = warmup
        self.start_timeout_s = start_timeout_s
        self._slots: asyncio.Semaphore | None = None
        self._processes: asyncio.Semaphore | None = None
        self.waiting = 0  # calls waiting for a slot
        self.supply = WorkerSupply(
            target, self.size + spares, self.max_workers + 4, warmup, start_timeout_s
        )
        self._counts = {"calls": 0, "timeouts": 0, "crashes": 0, "stragglers": 0}

    @property
    def target_workers(self) -> int:
        return self.size + self.spares

    @property
    def stats(self) -> dict[str, int]:
        """Calls, timeouts, crashes, stragglers and workers spawned so far."""
        return {**self._counts, "spawned": self.supply.spawned}

    @property
    def closed(self) -> bool:
        return self.supply.closed

    async def start(self) -> None:
        """Start ``size + spares`` warm workers now (otherwise the first calls start them)."""
        self._init_locks()
        await self.supply.fill()

    def _init_locks(self) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
            self._processes = asyncio.Semaphore(self.max_workers)

    @asynccontextmanager
    async def _admitted(self) -> AsyncIterator[None]:
        """Wait for a process and a slot (counted in ``waiting`` meanwhile); the block runs
        holding both, and releases the slot itself (a straggler gives it up early)."""
        if self.supply.closed:
            raise RuntimeError("pool is closed")
        self._init_locks()
        assert self._slots is not None and self._processes is not None
        self.waiting += 1
        try:
            await self._processes.acquire()
        except BaseException:
            self.waiting -= 1
            raise
        try:
            try:
                await self._slots.acquire()
            finally:
                self.waiting -= 1
            yield
        finally:
            self._processes.release()

    async def run(self, args: tuple[Any, ...], timeout_s: float) -> Any:
        """Call the target with ``args``; raise ``TimeoutError`` after ``timeout_s`` of running.

        Raises ``WorkerError`` when the target raised, ``WorkerCrashedError`` when the worker died.
        """
        async with self._admitted():
            return await self._run_in_slot(args, timeout_s)

    async def _worker_for_slot(self) -> tuple[Worker, asyncio.Semaphore]:
        """A worker for the slot the caller holds, and the slots; the slot is given back if
        no worker comes."""
        slots = self._slots
        assert slots is not None
        try:
            return await self.supply.take(), slots
        except BaseException:
            slots.release()
            raise

    async def _run_in_slot(self, args: tuple[Any, ...], timeout_s: float) -> Any:
        worker, slots = await self._worker_for_slot()
        holds_slot = True
        self._counts["calls"] += 1
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self.supply.threads, worker.call, args, timeout_s)
        try:
            first = min(self.straggler_threshold(), timeout_s)
            started = loop.time()
            done, _ = await asyncio.wait({call}, timeout=first)
            if not done:
                slots.release()
                holds_slot = False
                self._mark_straggler(worker)
                demote_in = timeout_s * self.demote_after_fraction - first
                if demote_in > 0:
                    done, _ = await asyncio.wait({call}, timeout=demote_in)
                if not done:
                    worker.deprioritise()
            value = await asyncio.shield(call)
            if not worker.straggler:
                self._observe(loop.time() - started)
        except asyncio.CancelledError:
            # The caller gave up; the worker's own deadline still ends the call.
            self.supply.background(self._finish_later(call, worker))
            raise
        except BaseException as exc:
            self._settle(worker, exc)
            raise
        finally:
            if holds_slot:
                slots.release()
        self._settle(worker, None)
        return value

    async def run_chunk(
        self, chunk: list[tuple[Any, ...]], timeout_s: float, deadline: float | None = None
    ) -> list[tuple[str, Any]]:
        """Run several calls in one worker, one after another, each with ``timeout_s`` from
        its own start: the replies of ``Worker.call_chunk`` (fewer than the calls when the
        worker was killed; the caller runs the rest elsewhere). One round trip for the chunk
        instead of one per call; a chunk that outlives the straggler threshold (per call)
        gives up its slot as a single call does."""
        async with self._admitted():
            return await self._run_chunk_in_slot(chunk, timeout_s, deadline)

    async def _run_chunk_in_slot(
        self, chunk: list[tuple[Any, ...]], timeout_s: float, deadline: float | None
    ) -> list[tuple[str, Any]]:
        worker, slots = await self._worker_for_slot()
        holds_slot = True
        worker.demote_after = self.demote_after_fraction
        self._counts["calls"] += len(chunk)
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(
            self.supply.threads, worker.call_chunk, chunk, timeout_s, deadline
        )
        started = loop.time()
        try:
            # A straggler here is a call of the chunk that has run past the threshold since
            # the previous call's answer (the worker notes each one's time).
            while True:
                wait = self.straggler_threshold() - (time.monotonic() - worker.last_reply)
                done, _ = await asyncio.wait({call}, timeout=max(wait, 0.01))
                if done or time.monotonic() - worker.last_reply >= self.straggler_threshold():
                    break
            if not done:
                slots.release()
                holds_slot = False
                self._mark_straggler(worker)
            replies = await asyncio.shield(call)
        except asyncio.CancelledError:
            self.supply.background(self._finish_later(call, worker))
            raise
        finally:
            if holds_slot:
                slots.release()
        if replies and not worker.straggler and replies[-1][0] in ("ok", "err"):
            self._observe((loop.time() - started) / len(replies))
        failed = replies[-1][0] if replies else "crashed"
        if failed == "timeout":
            self._settle(worker, TimeoutError())
        elif failed == "crashed":
            self._settle(worker, WorkerCrashedError())
        else:
            if worker.deprioritised and not worker.reprioritise():
                worker.kill()  # cannot get its priority back: replaced
            self._settle(worker, None)
        return replies

    def straggler_threshold(self) -> float:
        """How long a call may run before it stops holding a slot: ``straggler_after_s``, or
        ``straggler_factor`` times the typical call when calls are slow (under load, every call
        slows down; a fixed threshold would then turn honest calls into stragglers)."""
        return max(self.straggler_after_s, self.straggler_factor * self._typical_s)

    def _observe(self, duration_s: float) -> None:
        self._typical_s += 0.05 * (duration_s - self._typical_s)

    def _mark_straggler(self, worker: Worker) -> None:
        """The call overran ``straggler_after_s``: a healthy worker takes its place."""
        worker.straggler = True
        self._counts["stragglers"] += 1
        self.supply.lost()

    async def _finish_later(self, call: asyncio.Future[Any], worker: Worker) -> None:
        try:
            await call
        except BaseException as exc:
            self._settle(worker, exc)
        else:
            self._settle(worker, None)

    def _settle(self, worker: Worker, exc: BaseException | None) -> None:
        """Return a worker after a call, or account for its loss."""
        if isinstance(exc, TimeoutError):
            self._counts["timeouts"] += 1
        elif isinstance(exc, WorkerCrashedError):
            self._counts["crashes"] += 1
        if not worker.alive:
            if not worker.straggler:  # a straggler was already replaced
                self.supply.lost()
            return
        if not worker.straggler:
            self.supply.offer(worker)
            return
        # A straggler that finished: back into the pool if there is room for it (a little over
        # the target, so that a burst of slow calls does not churn processes) and it gets its
        # normal priority back (unprivileged users cannot raise it again).
        if self.supply.healthy < self.target_workers + self.size and (
            not worker.deprioritised or worker.reprioritise()
        ):
            worker.straggler = False
            self.supply.healthy += 1
            self.supply.offer(worker)
        else:
            worker.kill()

    def abandon(self) -> None:
        """Close from outside its event loop (that loop has ended): stop the template, whose
        workers die with it."""
        self.supply.abandon()

    async def close(self) -> None:
        """Kill every worker; calls in flight end with ``WorkerCrashedError``."""
        await self.supply.close()
