"""A pool of spawned worker processes that can be killed: CPU-bound work with hard deadlines.

Each worker runs one call at a time. A call's deadline counts from its dispatch to a worker;
a worker that overruns it is killed (SIGKILL) and replaced, the call raises ``TimeoutError``
and the pool keeps serving. A call that has run longer than ``straggler_after_s`` stops
counting against the pool's ``size``, so a few pathological inputs cannot starve the rest:
other calls get a fresh worker (up to ``max_workers`` processes in all).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

__all__ = [
    "KillablePool",
    "WorkerCrashedError",
    "WorkerError",
    "close_shared_pools",
    "shared_pool",
]

log = logging.getLogger(__name__)


class WorkerCrashedError(RuntimeError):
    """The worker process died while running a call (not a timeout)."""


class WorkerError(RuntimeError):
    """The called function raised in the worker; ``kind`` is the exception's class name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _resolve(target: str) -> Callable[..., Any]:
    module, _, attr = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return fn


def _worker_main(fd: int, target: str) -> None:
    """Loop in the worker: receive args, call ``target``, send back ("ok", value) or ("err", ...).

    The first message is the warm-up call's arguments (or None); then "ready" is sent.
    """
    conn = Connection(fd)
    fn = _resolve(target)
    warmup = conn.recv()
    if warmup is not None:
        with contextlib.suppress(Exception):
            fn(*warmup)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", fn(*args)))
        except Exception as exc:  # reported to the caller as data
            conn.send(("err", (type(exc).__name__, str(exc)[:2000])))


class _Worker:
    """One worker process (a fresh interpreter, not a fork) and the parent's end of its socket.

    Started with ``python -m rewardgym.pool`` rather than multiprocessing's spawn, so callers
    need no ``if __name__ == "__main__"`` guard and the worker never re-imports their script.
    """

    def __init__(self, target: str, warmup: tuple[Any, ...] | None) -> None:
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rewardgym.pool", str(child.fileno()), target],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        child.close()
        self.conn = Connection(parent.detach())
        self.conn.send(warmup)

    def wait_ready(self, timeout_s: float) -> None:
        if not self.conn.poll(timeout_s):
            self.kill()
            raise WorkerCrashedError(f"worker did not start within {timeout_s:.0f} s")
        try:
            self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise WorkerCrashedError(
                f"worker died while starting (exit code {self.process.poll()})"
            ) from exc

    def call(self, args: tuple[Any, ...], timeout_s: float) -> Any:
        """Run one call; blocks the calling thread (never the event loop)."""
        try:
            self.conn.send(args)
            ready = self.conn.poll(max(timeout_s, 0.0))
        except (BrokenPipeError, EOFError, OSError) as exc:
            self.kill()
            raise WorkerCrashedError(f"worker pipe broke: {exc}") from exc
        if not ready:
            self.kill()
            raise TimeoutError(f"no answer within {timeout_s:.2f} s; worker killed")
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise WorkerCrashedError(f"worker died (exit code {self.process.poll()})") from exc
        if status == "err":
            raise WorkerError(*value)
        return value

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.conn.close()


class KillablePool:
    """Run ``target(*args)`` (``"package.module:function"``) in spawned worker processes.

    Args:
        target: import path of the function the workers run.
        size: calls that run at once (default: the number of CPUs, at least 2).
        max_workers: processes at most, stragglers included (default ``size + 8``).
        straggler_after_s: after this long a call no longer holds one of the ``size`` slots.
        warmup: arguments for one call each worker makes before it is ready (imports, caches).
        start_timeout_s: how long a new worker may take to become ready.
    """

    def __init__(
        self,
        target: str,
        *,
        size: int | None = None,
        max_workers: int | None = None,
        straggler_after_s: float = 0.5,
        warmup: tuple[Any, ...] | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.target = target
        self.size = size or max(2, os.cpu_count() or 2)
        self.max_workers = max(max_workers or self.size + 8, self.size)
        self.straggler_after_s = straggler_after_s
        self.warmup = warmup
        self.start_timeout_s = start_timeout_s
        self._idle: list[_Worker] = []
        self._slots: asyncio.Semaphore | None = None
        self._processes: asyncio.Semaphore | None = None
        self._threads = ThreadPoolExecutor(
            max_workers=self.max_workers + 2, thread_name_prefix="rewardgym-pool"
        )
        self._spares: set[asyncio.Task[None]] = set()
        self._closed = False
        self.stats = {"calls": 0, "timeouts": 0, "crashes": 0, "spawned": 0}

    @property
    def busy(self) -> int:
        """Calls running now."""
        if self._processes is None:
            return 0
        return self.max_workers - self._processes._value

    async def start(self) -> None:
        """Start ``size`` warm workers (and one spare); optional, calls start them lazily."""
        self._init_locks()
        want = self.size + 1 - len(self._idle)
        workers = await asyncio.gather(*(self._spawn() for _ in range(want)))
        self._idle.extend(workers)

    def _init_locks(self) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
            self._processes = asyncio.Semaphore(self.max_workers)

    async def _spawn(self) -> _Worker:
        loop = asyncio.get_running_loop()

        def start() -> _Worker:
            worker = _Worker(self.target, self.warmup)
            worker.wait_ready(self.start_timeout_s)
            return worker

        worker = await loop.run_in_executor(self._threads, start)
        self.stats["spawned"] += 1
        return worker

    def _spawn_spare(self) -> None:
        """Start a worker in the background so the next call does not wait for one."""

        async def spare() -> None:
            try:
                worker = await self._spawn()
            except WorkerCrashedError:
                log.exception("could not start a spare worker")
                return
            if self._closed or len(self._idle) > self.size:
                worker.kill()
            else:
                self._idle.append(worker)

        self._background(spare())

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._spares.add(task)
        task.add_done_callback(self._spares.discard)

    async def run(self, args: tuple[Any, ...], timeout_s: float) -> Any:
        """Call the target with ``args``; raise ``TimeoutError`` after ``timeout_s`` of running.

        Raises ``WorkerError`` when the target raised, ``WorkerCrashedError`` when the worker died.
        """
        if self._closed:
            raise RuntimeError("pool is closed")
        self._init_locks()
        assert self._slots is not None and self._processes is not None
        await self._processes.acquire()
        await self._slots.acquire()
        holds_slot = True
        handed_off = False
        worker: _Worker | None = None
        try:
            worker = self._idle.pop() if self._idle else await self._spawn()
            loop = asyncio.get_running_loop()
            self.stats["calls"] += 1
            call = loop.run_in_executor(self._threads, worker.call, args, timeout_s)
            done, _ = await asyncio.wait({call}, timeout=min(self.straggler_after_s, timeout_s))
            if not done:
                holds_slot = False
                self._slots.release()
                self._spawn_spare()
            try:
                return await asyncio.shield(call)
            except TimeoutError:
                self.stats["timeouts"] += 1
                raise
            except WorkerCrashedError:
                self.stats["crashes"] += 1
                raise
            except asyncio.CancelledError:
                # The caller gave up; the worker's own deadline still ends the call, and the
                # worker (and its process slot) come back when it does.
                self._background(self._after_cancel(call, worker))
                handed_off = True
                raise
        finally:
            if holds_slot:
                self._slots.release()
            if not handed_off:
                self._processes.release()
                if worker is not None:
                    self._return(worker)

    async def _after_cancel(self, call: asyncio.Future[Any], worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            await call
        assert self._processes is not None
        self._processes.release()
        self._return(worker)

    def _return(self, worker: _Worker) -> None:
        if worker.alive and not self._closed and len(self._idle) <= self.size:
            self._idle.append(worker)
        elif worker.alive:
            worker.kill()

    async def close(self) -> None:
        """Kill every worker; calls in flight end with ``WorkerCrashedError``."""
        self._closed = True
        for task in list(self._spares):
            task.cancel()
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)


_SHARED: dict[tuple[str, int | None, int], KillablePool] = {}


def shared_pool(target: str, *, size: int | None = None, **kwargs: Any) -> KillablePool:
    """One pool per (target, size) and event loop, shared by every reward that runs ``target``."""
    key = (target, size, id(asyncio.get_running_loop()))
    pool = _SHARED.get(key)
    if pool is None or pool._closed:
        pool = _SHARED[key] = KillablePool(target, size=size, **kwargs)
    return pool


async def close_shared_pools() -> None:
    """Close the shared pools of the running event loop."""
    loop_id = id(asyncio.get_running_loop())
    for key in [k for k in _SHARED if k[2] == loop_id]:
        await _SHARED.pop(key).close()


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]), sys.argv[2])
