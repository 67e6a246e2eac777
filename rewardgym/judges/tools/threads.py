"""The threads tool calls block in (the sandbox's processes, a user's function): their own
pool, so that a few slow calls never take the threads the event loop's other work needs
(asyncio's default pool has cores + 4 threads)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["TOOL_THREADS", "in_tool_thread"]

T = TypeVar("T")

TOOL_THREADS = 64
"""Tool calls blocking at once in one process at most (more wait their turn)."""

_POOL: ThreadPoolExecutor | None = None


async def in_tool_thread(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in the tool threads, awaited."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(TOOL_THREADS, thread_name_prefix="rewardgym-tool")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, functools.partial(function, *args))
