"""Bounded pools of sandbox runs, each slot its own unprivileged user from one allocator.

When the server runs as root, every sandboxed program drops to a uid of its own slot, so the
per-user process limit (``Limits.processes``) means *that run*: a fork bomb spends its own
slot's limit, never another run's. That holds only if no two concurrent runs share a uid, so
every pool in the process (each code reward, the inline code pool, reasoning-gym's checker, the
python tool) takes its uids from ``UIDS``, which never hands out one uid twice.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from rewardgym.judges.runtime.limits import Limits, RunResult
from rewardgym.judges.runtime.sandbox import NOBODY, Sandbox
from rewardgym.metrics import register_gauges

__all__ = ["UIDS", "SandboxSlots", "SlotBusy", "UidAllocator"]

T = TypeVar("T")


class SlotBusy(RuntimeError):
    """No slot came free within the wait allowed."""


class UidAllocator:
    """Hands out distinct uids counting down from ``top``; freed ones are handed out again."""

    def __init__(self, top: int = NOBODY - 1, count: int = 8192) -> None:
        self.top, self.count = top, count
        self._free: list[int] = []
        self._next = top
        self._lock = threading.Lock()

    def take(self, n: int) -> list[int]:
        with self._lock:
            if n > len(self._free) + self.count - (self.top - self._next):
                raise RuntimeError(f"no {n} sandbox users left (at most {self.count} in use)")
            self._free.sort(reverse=True)
            taken = self._free[:n]
            del self._free[:n]
            while len(taken) < n:
                taken.append(self._next)
                self._next -= 1
            return taken

    def give_back(self, uids: list[int]) -> None:
        with self._lock:
            self._free.extend(uids)

    def in_use(self) -> int:
        with self._lock:
            return (self.top - self._next) - len(self._free)


UIDS = UidAllocator()
"""The process's one allocator: every ``SandboxSlots`` takes its users here, below ``NOBODY``
(65534), which is left to the sandbox's start-up probe, so a fork bomb in a slot cannot make
a new sandbox fail its probe."""


class SandboxSlots:
    """``size`` sandbox runs at a time, each as a user no other run holds; with gauges.

    ``await run(...)`` runs on the pool's own threads; ``run_here(...)`` runs on the calling
    thread (for callers already off the event loop) once a slot is free.
    """

    def __init__(self, size: int, label: str) -> None:
        self.size, self.label = size, label
        self._uids = UIDS.take(size)
        self._free: queue.Queue[int] = queue.Queue()
        for uid in self._uids:
            self._free.put(uid)
        self.waiting = 0  # callers blocked in slot()
        self.submitted = 0  # runs handed to the pool's threads and not finished
        self.executor = ThreadPoolExecutor(size, thread_name_prefix=f"rewardgym-{label}")
        self._unregister = register_gauges(self._gauges)
        self.closed = False

    @contextmanager
    def slot(self, wait_s: float | None = None) -> Iterator[int]:
        """A free slot's uid, held for the ``with`` block; ``SlotBusy`` after ``wait_s``."""
        self.waiting += 1
        try:
            uid = self._free.get(timeout=wait_s)
        except queue.Empty:
            raise SlotBusy(f"all {self.size} {self.label} slots stayed busy") from None
        finally:
            self.waiting -= 1
        try:
            yield uid
        finally:
            self._free.put(uid)

    def run_here(
        self,
        sandbox: Sandbox,
        source: str,
        stdin: str = "",
        limits: Limits | None = None,
        wait_s: float | None = None,
    ) -> RunResult:
        """Run ``source`` on this thread in a slot of its own."""
        with self.slot(wait_s) as uid:
            return sandbox.run(source, stdin, limits, uid=uid)

    async def run(
        self, sandbox: Sandbox, source: str, stdin: str = "", limits: Limits | None = None
    ) -> RunResult:
        """Run ``source`` on the pool's threads (waiting for a slot there, off the loop)."""
        return await self.call(self.run_here, sandbox, source, stdin, limits)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the pool's threads, counted as waiting until it takes a slot
        (``fn`` takes it with ``run_here``: a caller that checks or parses around its run)."""
        loop = asyncio.get_running_loop()
        self.submitted += 1
        try:
            return await loop.run_in_executor(self.executor, fn, *args)
        finally:
            self.submitted -= 1

    def busy(self) -> int:
        return self.size - self._free.qsize()

    def _gauges(self) -> Iterator[tuple[str, dict[str, str], float]]:
        pool = {"pool": self.label}
        yield "rewardgym_pool_busy", pool, float(self.busy())
        queued = max(0, self.submitted - self.busy())  # not yet on a thread
        yield "rewardgym_pool_waiting", pool, float(queued + self.waiting)

    def close(self) -> None:
        """Stop taking runs; the users go back to ``UIDS`` once the running ones end."""
        if self.closed:
            return
        self.closed = True
        self._unregister()
        self.executor.shutdown(wait=False, cancel_futures=True)
        threading.Thread(target=self._return_uids, daemon=True).start()

    def _return_uids(self) -> None:
        returned = [self._free.get() for _ in self._uids]  # each, once its run has ended
        UIDS.give_back(returned)
