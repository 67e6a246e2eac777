"""One ``KillablePool`` per target and event loop, shared by every reward that runs the target
(their busy and waiting calls are the ``rewardgym_pool_*`` gauges)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator
from typing import Any

from rewardgym.judges.runtime.pool import KillablePool
from rewardgym.metrics import register_gauges

__all__ = ["close_shared_pools", "shared_pool"]


def _pool_gauges() -> Iterator[tuple[str, dict[str, str], float]]:
    for (target, size), (_owner, pool) in list(_SHARED.items()):
        if pool.closed:
            continue
        labels = {"pool": f"{target}/{size or 'auto'}"}
        busy = pool.size - pool._slots._value if pool._slots is not None else 0
        yield "rewardgym_pool_busy", labels, float(busy)
        yield "rewardgym_pool_waiting", labels, float(pool.waiting)


_SHARED: dict[
    tuple[str, int | None], tuple[weakref.ref[asyncio.AbstractEventLoop], KillablePool]
] = {}


def shared_pool(target: str, *, size: int | None = None, **kwargs: Any) -> KillablePool:
    """One pool per (target, size) for the running event loop, shared by every reward that
    runs ``target``. A pool left behind by an earlier loop (``asyncio.run`` twice) is retired."""
    loop = asyncio.get_running_loop()
    key = (target, size)
    entry = _SHARED.get(key)
    if entry is not None:
        owner, pool = entry
        if owner() is loop and not pool.closed:
            return pool
        pool.abandon()
    pool = KillablePool(target, size=size, **kwargs)
    _SHARED[key] = (weakref.ref(loop), pool)
    return pool


register_gauges(_pool_gauges)


async def close_shared_pools() -> None:
    """Close the shared pools of the running event loop."""
    loop = asyncio.get_running_loop()
    for key, (owner, _pool) in list(_SHARED.items()):
        if owner() is loop:
            await _SHARED.pop(key)[1].close()
