"""Many calls through a ``KillablePool`` in chunks: one round trip per chunk, not per call,
with every call keeping its own deadline.

A batch is cut into chunks small enough to spread over every worker (about eight chunks a
worker, at most ``max_chunk`` calls each). A worker killed in the middle of a chunk (a call
past its time, or a crash) ends that call with its error; the calls after it in the chunk did
not run, and go to another worker as a new chunk. Chunks not started by the request's
deadline time out without running.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from rewardgym.judges.runtime.pool import KillablePool, WorkerCrashedError

__all__ = ["Reply", "run_chunked"]

Reply = tuple[str, Any]
"""``("ok", value)``, ``("err", (kind, message))``, ``("timeout", message)`` or
``("crashed", message)``."""


def chunk_size(n_calls: int, workers: int, max_chunk: int) -> int:
    """Calls per chunk: about eight chunks a worker, so that the batch ends evenly."""
    return max(1, min(max_chunk, math.ceil(n_calls / (workers * 8))))


async def run_chunked(
    pool: KillablePool,
    calls: list[tuple[Any, ...]],
    timeout_s: float,
    deadline: float | None = None,
    max_chunk: int = 16,
) -> list[Reply]:
    """One reply per call, in order. ``timeout_s`` is each call's, from its own start;
    ``deadline`` (``time.monotonic()``) ends the whole batch."""
    replies: list[Reply | None] = [None] * len(calls)
    size = chunk_size(len(calls), pool.size, max_chunk)

    async def run(indices: list[int]) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            for i in indices:
                replies[i] = ("timeout", "not started before the request's deadline")
            return
        try:
            got = await pool.run_chunk([calls[i] for i in indices], timeout_s, deadline)
        except (WorkerCrashedError, RuntimeError) as exc:  # no worker could start; closed
            got = [("crashed", str(exc))] * len(indices)
        if not got:
            got = [("crashed", "the worker gave no answer")] * len(indices)
        for i, reply in zip(indices, got, strict=False):
            replies[i] = reply
        if len(got) < len(indices):  # killed mid-chunk: the rest run in another worker
            await run(indices[len(got) :])

    # Every chunk waits for a slot of the pool: a chunk stuck on a slow call gives its slot
    # up (a straggler), and the next chunk takes it.
    await asyncio.gather(
        *(
            run(list(range(start, min(start + size, len(calls)))))
            for start in range(0, len(calls), size)
        )
    )
    return [r if r is not None else ("crashed", "no answer") for r in replies]
