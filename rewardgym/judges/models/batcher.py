"""Dynamic micro-batching: concurrent requests gathered into batches for one model.

Items submitted within ``max_wait_ms`` of each other (up to ``max_batch_size``) run together as
one call of ``run(batch)`` in a single worker thread, so the event loop keeps serving while the
model works and the model sees one batch at a time. ``submit_many`` queues a whole request at
once, so a large request is cut into full batches. With ``enabled=False`` every item runs alone
(what the batching benchmark compares against).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class _Pending(Generic[In, Out]):
    value: In
    future: asyncio.Future[Out]


class MicroBatcher(Generic[In, Out]):
    """Run ``run`` over batches of concurrently submitted items.

    Args:
        run: a blocking function from a batch of inputs to one output per input, in order.
        max_batch_size: the most items in one call.
        max_wait_ms: how long the first item of a batch waits for company.
        enabled: False runs every item alone (batch size 1, no waiting).
        name: the worker thread's name.
    """

    def __init__(
        self,
        run: Callable[[list[In]], Sequence[Out]],
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        enabled: bool = True,
        name: str = "rewardgym-batcher",
    ) -> None:
        self.run = run
        self.max_batch_size = max_batch_size if enabled else 1
        self.max_wait_s = max_wait_ms / 1000.0 if enabled else 0.0
        self._queue: asyncio.Queue[_Pending[In, Out]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self.stats: dict[str, int] = {"batches": 0, "items": 0, "largest_batch": 0}

    def _ensure_worker(self) -> asyncio.Queue[_Pending[In, Out]]:
        loop = asyncio.get_running_loop()
        stale = self._loop is not loop or self._worker is None or self._worker.done()
        if self._queue is None or stale:
            self._loop = loop  # a new event loop (another asyncio.run) gets a new worker
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._serve(self._queue))
        return self._queue

    async def submit(self, value: In) -> Out:
        """One input's output, batched with whatever else arrives meanwhile."""
        [out] = await self.submit_many([value])
        return out

    async def submit_many(self, values: Sequence[In]) -> list[Out]:
        """Outputs for several inputs, queued together (one exception fails them all)."""
        queue = self._ensure_worker()
        loop = asyncio.get_running_loop()
        pending = [_Pending(v, loop.create_future()) for v in values]
        for p in pending:
            queue.put_nowait(p)
        return list(await asyncio.gather(*(asyncio.shield(p.future) for p in pending)))

    async def _serve(self, queue: asyncio.Queue[_Pending[In, Out]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            deadline = loop.time() + self.max_wait_s
            while len(batch) < self.max_batch_size:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), left))
                except TimeoutError:
                    break
            live = [p for p in batch if not p.future.done()]
            if not live:
                continue
            try:
                outputs = await loop.run_in_executor(
                    self._executor, self.run, [p.value for p in live]
                )
                if len(outputs) != len(live):
                    raise RuntimeError(f"{len(outputs)} outputs for {len(live)} inputs")
            except Exception as exc:  # a failed batch fails its items, not the worker
                for p in live:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            self.stats["batches"] += 1
            self.stats["items"] += len(live)
            self.stats["largest_batch"] = max(self.stats["largest_batch"], len(live))
            for p, out in zip(live, outputs, strict=True):
                if not p.future.done():
                    p.future.set_result(out)

    async def aclose(self) -> None:
        """Stop the worker and its thread."""
        if self._worker is not None and self._loop is asyncio.get_running_loop():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
        self._worker = None
        self._queue = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return f"MicroBatcher(max_batch_size={self.max_batch_size}, stats={self.stats})"
