"""Worker processes forked from a warm template ("zygote"), and the parent's handles on them.

Starting a Python interpreter and importing a heavy library (sympy, for math-verify) costs a
second of CPU; forking a template that has already done so costs milliseconds. The template is
a fresh interpreter (``python -m rewardgym.judges.runtime.zygote``), never a fork of the
server, so callers need no ``if __name__ == "__main__"`` guard and no server state leaks into
workers.

Protocol: the parent sends the template one byte and one end of a new socket pair (SCM_RIGHTS);
the template forks a worker that serves calls on that socket, and answers with the worker's
pid. The parent holds a pidfd for each worker, so killing it can never hit a reused pid.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Worker", "WorkerCrashedError", "WorkerError", "Zygote"]

_PID = struct.Struct("!q")


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


# --- inside the template and its workers -------------------------------------------------------


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[str, Any]:
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # reported to the caller as data
        return ("err", (type(exc).__name__, str(exc)[:2000]))


ROOMY_SLOTS = 65536
"""Local variables of ``_roomy``'s frame: 512 KiB, in a data-stack chunk of 1 MiB."""


def _roomy(slots: int) -> Callable[..., Any]:
    """``roomy(f, *args)`` calls ``f(*args)`` from a frame of ``slots`` local variables.

    CPython (3.11+) keeps frames on a stack of 16 KiB chunks: a call that does not fit in
    the current chunk maps a new one, and the return that empties it unmaps it. A worker whose
    calls recurse back and forth across a chunk's end (sympy, parsers) maps, unmaps and
    page-faults fresh memory hundreds of times a call: in math-verify's case 450-870 page
    faults a call and a third of its time in the kernel, and how bad depends on the depth the
    call starts at. A frame this large gets a chunk twice its size, so the worker loop, run
    from it, and every call it makes, live in the free half of one chunk that stays mapped
    for the worker's life: no page faults per call (bench/baselines.py's math row).
    """
    names = " = ".join(f"v{i}" for i in range(slots))
    source = f"def roomy(f, *args):\n    if args:\n        return f(*args)\n    {names} = None\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<rewardgym roomy frame>", "exec"), namespace)
    roomy: Callable[..., Any] = namespace["roomy"]
    return roomy


def _serve_calls(conn: Connection, fn: Callable[..., Any]) -> None:
    """A worker's loop: receive args (a tuple: one call) or a chunk (a list of args tuples),
    call, and send back ("ok", value) or ("err", (kind, msg)) for each call as it finishes."""
    while True:
        try:
            message = conn.recv()
            if isinstance(message, list):
                for args in message:
                    conn.send(_call(fn, args))
            else:
                conn.send(_call(fn, message))
        except (EOFError, OSError):
            os._exit(0)


def _template_main(control_fd: int, target: str) -> None:
    """Import the target, warm it up, then fork a worker for each request until EOF."""
    control = socket.socket(fileno=control_fd)
    fn = _resolve(target)
    roomy = _roomy(ROOMY_SLOTS)
    warmup = Connection(os.dup(control_fd)).recv()
    if warmup is not None:
        with contextlib.suppress(Exception):
            fn(*warmup)
    # What the template imported lives as long as its workers: out of the collector's way, so
    # that a worker's collections walk only what its calls made (and do not copy the
    # template's pages by touching them).
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished workers
    children: set[int] = set()
    control.sendall(b"R")
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(control, 1, 1)
        except OSError:
            msg, fds = b"", []
        if not msg or not fds:
            for pid in children:  # the server is gone: take the workers with us
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            roomy(_serve_calls, Connection(fds[0]), fn)
        os.close(fds[0])
        children = {c for c in children if _exists(c)} | {pid}
        control.sendall(_PID.pack(pid))


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


# --- in the parent ---------------------------------------------------------------------------


class Worker:
    """The parent's handle on one forked worker: its socket and a pidfd."""

    def __init__(self, pid: int, conn: Connection) -> None:
        self.pid = pid
        self.conn = conn
        self.pidfd = os.pidfd_open(pid)
        self.straggler = False  # overran the pool's straggler threshold on its current call
        self.deprioritised = False
        self.demote_after = 0.5  # in a chunk: the fraction of a call's time before demotion
        self.last_reply = time.monotonic()  # in a chunk: when the last call ended

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
            raise WorkerCrashedError(f"worker died ({_exit_reason(exc)})") from exc
        if status == "err":
            raise WorkerError(*value)
        return value

    def call_chunk(
        self, chunk: list[tuple[Any, ...]], timeout_s: float, deadline: float | None = None
    ) -> list[tuple[str, Any]]:
        """Run a chunk of calls, one after another in this worker; blocks the calling thread.

        Each call has ``timeout_s`` from its own start (and none runs past ``deadline``, a
        ``time.monotonic()`` value); a call still running at ``demote_after`` of its time
        drops to the lowest CPU priority. Returns one reply per call that ended: ``("ok",
        value)`` or ``("err", (kind, message))``, then, when the worker had to be killed,
        ``("timeout", message)`` or ``("crashed", message)`` for the call it was running. The
        calls after that one did not run (the caller sends them to another worker)."""
        replies: list[tuple[str, Any]] = []
        self.last_reply = time.monotonic()
        try:
            self.conn.send(chunk)
        except (BrokenPipeError, EOFError, OSError) as exc:
            self.kill()
            return [("crashed", f"worker pipe broke: {exc}")]
        for _ in chunk:
            limit = timeout_s
            if deadline is not None:
                limit = min(limit, deadline - time.monotonic())
            ready = limit > 0 and self.conn.poll(limit * self.demote_after)
            if not ready and limit > 0:
                self.deprioritise()
                ready = self.conn.poll(limit * (1.0 - self.demote_after))
                if ready:
                    self.reprioritise()
            if not ready:
                self.kill()
                replies.append(("timeout", f"no answer within {max(limit, 0.0):.2f} s"))
                return replies
            try:
                replies.append(self.conn.recv())
                self.last_reply = time.monotonic()
            except (EOFError, OSError) as exc:
                self.kill()
                replies.append(("crashed", f"worker died ({_exit_reason(exc)})"))
                return replies
        return replies

    @property
    def alive(self) -> bool:
        if self.pidfd < 0:
            return False
        readable, _, _ = select.select([self.pidfd], [], [], 0)
        return not readable  # a pidfd turns readable when its process ends

    def deprioritise(self) -> None:
        """Lowest CPU priority: a straggler must not slow the healthy calls."""
        self.deprioritised = True
        if self.alive:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self.pid, 19)

    def reprioritise(self) -> bool:
        """Back to normal priority; False where not permitted (unprivileged users)."""
        try:
            os.setpriority(os.PRIO_PROCESS, self.pid, 0)
        except OSError:
            return False
        self.deprioritised = False
        return True

    def kill(self) -> None:
        if self.pidfd >= 0:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            os.close(self.pidfd)
            self.pidfd = -1
        with contextlib.suppress(OSError):
            self.conn.close()


def _exit_reason(exc: BaseException) -> str:
    return f"connection lost: {type(exc).__name__}"


class Zygote:
    """A warm template process that forks workers on request (thread-safe)."""

    def __init__(
        self, target: str, warmup: tuple[Any, ...] | None, start_timeout_s: float = 60.0
    ) -> None:
        self.target = target
        self.warmup = warmup
        self.start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def _start(self) -> None:
        parent, child = socket.socketpair()
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rewardgym.judges.runtime.zygote",
                str(child.fileno()),
                self.target,
            ],
            pass_fds=(child.fileno(),),
            stdin=subprocess.DEVNULL,
            close_fds=True,
            # One hash seed for every worker of every server: sympy's answers can depend on
            # set order (math-verify's strict=False on equations did, 2 seeds in 12), and a
            # result must not change with the process that computed it (its ledger address
            # does not). Hash flooding is bounded by each call's deadline.
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        child.close()
        Connection(os.dup(parent.fileno())).send(self.warmup)
        parent.settimeout(self.start_timeout_s)
        try:
            ready = parent.recv(1)
        except OSError:
            ready = b""
        if ready != b"R":
            self._process.kill()
            raise WorkerCrashedError(
                f"worker template for {self.target} did not start "
                f"(exit code {self._process.poll()})"
            )
        parent.settimeout(10.0)
        self._control = parent

    def fork(self) -> Worker:
        """A new worker, warm; restarts the template once if it has died."""
        with self._lock:
            for attempt in range(2):
                if self._control is None:
                    self._start()
                assert self._control is not None
                mine, theirs = socket.socketpair()
                try:
                    socket.send_fds(self._control, [b"F"], [theirs.fileno()])
                    raw = self._control.recv(_PID.size, socket.MSG_WAITALL)
                    if len(raw) != _PID.size:
                        raise OSError("worker template closed its socket")
                except OSError:
                    mine.close()
                    self._stop()
                    if attempt == 1:
                        raise WorkerCrashedError("worker template died") from None
                    continue
                finally:
                    theirs.close()
                (pid,) = _PID.unpack(raw)
                try:
                    return Worker(pid, Connection(mine.detach()))
                except ProcessLookupError:
                    raise WorkerCrashedError(f"worker {pid} died at once") from None
        raise AssertionError("unreachable")

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()  # EOF: the template kills its workers and exits
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None

    def close(self) -> None:
        """Stop the template; its workers die with it."""
        with self._lock:
            self._stop()


if __name__ == "__main__":
    _template_main(int(sys.argv[1]), sys.argv[2])
