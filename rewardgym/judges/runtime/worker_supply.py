"""The warm worker processes a ``KillablePool`` hands out: idle ones at once, or the next one
free; missing ones forked from the zygote in the background."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rewardgym.judges.runtime.zygote import Worker, WorkerCrashedError, Zygote

__all__ = ["WorkerSupply"]

log = logging.getLogger(__name__)


class WorkerSupply:
    """Keeps ``target`` healthy workers (idle, busy or starting; stragglers not counted).

    Args:
        target: import path of the function the workers run (``"package.module:function"``).
        target_workers: how many healthy workers to keep.
        threads: how many blocking calls (forks, calls in workers) may wait at once.
        warmup: arguments for one call each worker makes before it is ready.
        start_timeout_s: how long a new worker may take to become ready.
    """

    def __init__(
        self,
        target: str,
        target_workers: int,
        threads: int,
        warmup: tuple[Any, ...] | None,
        start_timeout_s: float,
    ) -> None:
        self.target = target
        self.target_workers = target_workers
        self.healthy = 0  # live or starting workers that are not stragglers
        self.spawned = 0
        self.closed = False
        self.threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rewardgym-pool")
        self._idle: list[Worker] = []
        self._waiters: deque[asyncio.Future[Worker]] = deque()
        self._background_tasks: set[asyncio.Task[None]] = set()
        self._zygote = Zygote(target, warmup, start_timeout_s)

    async def fill(self) -> None:
        """Fork every missing worker now, and wait for them."""
        missing = self.target_workers - self.healthy
        self.healthy += missing
        await asyncio.gather(*(self._add_counted() for _ in range(missing)))

    async def _add_counted(self) -> None:
        """Fork a worker for a place already counted in ``healthy``; hand it out."""
        loop = asyncio.get_running_loop()
        try:
            worker = await loop.run_in_executor(self.threads, self._zygote.fork)
        except BaseException:
            self.healthy -= 1
            raise
        self.spawned += 1
        self.offer(worker)

    def lost(self) -> None:
        """A healthy worker died or became a straggler: fork its replacement."""
        self.healthy -= 1
        self.replenish()

    def replenish(self) -> None:
        """Fork the missing healthy workers in the background."""
        while not self.closed and self.healthy < self.target_workers:
            self.healthy += 1
            self.background(self._add_quietly())

    async def _add_quietly(self) -> None:
        try:
            await self._add_counted()
        except WorkerCrashedError as exc:
            log.error("could not start a worker for %s: %s", self.target, exc)
            # Calls waiting for a worker would otherwise wait for ever: fail them now.
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(WorkerCrashedError(f"no worker could start: {exc}"))

    def background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` as a task the supply keeps (and cancels when it closes)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    def offer(self, worker: Worker) -> None:
        """A free worker: to the first call waiting, else idle."""
        if self.closed:
            worker.kill()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    async def take(self) -> Worker:
        """An idle worker, or the next one offered."""
        if self._idle:
            return self._idle.pop()
        if self.healthy < self.target_workers:
            self.replenish()
        waiter: asyncio.Future[Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.offer(waiter.result())
            raise

    def abandon(self) -> None:
        """Close from outside its event loop (that loop has ended): stop the template, whose
        workers die with it."""
        self.closed = True
        for worker in self._idle:
            worker.kill()
        self._idle = []
        self.threads.shutdown(wait=False, cancel_futures=True)
        self._zygote.close()

    async def close(self) -> None:
        """Kill every idle worker and the template; calls waiting for a worker are cancelled."""
        self.closed = True
        for task in list(self._background_tasks):
            task.cancel()
        for waiter in self._waiters:
            waiter.cancel()
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
        self.threads.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self._zygote.close)
