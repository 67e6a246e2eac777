"""What one sandboxed program may use, how it ended, and the process-level means that hold it
to that: resource limits and an unprivileged user set before exec, output read up to a cap,
the whole process group killed at the end."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CappedOutput", "Limits", "RunResult", "kill_group", "limit_preexec"]


@dataclass(frozen=True)
class Limits:
    """What one program may use."""

    cpu_s: int = 5
    wall_s: float = 10.0
    memory_mb: int = 512
    processes: int = 32
    file_size_mb: int = 16
    tmp_size_mb: int = 64
    shm_size_mb: int = 16
    open_files: int = 64
    output_bytes: int = 65536


@dataclass
class RunResult:
    """How a program ended."""

    exit_code: int | None
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool = False
    output_exceeded: bool = False
    signal: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.output_exceeded


def limit_preexec(limits: Limits, uid: int | None) -> Callable[[], None]:
    """What the child runs before exec: a session of its own, the limits, the user ``uid``."""

    def apply() -> None:
        os.setsid()
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mb, limits.memory_mb * mb))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_mb * mb,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if uid is not None:  # as root: a user of its own, so the per-user limit means this run
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)

    return apply


class CappedOutput:
    """Reads a pipe, keeps at most ``cap`` bytes, kills the program when it writes more."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.exceeded = False

    def drain(self, pipe: object, process: subprocess.Popen[bytes]) -> None:
        # read1: what is there now, so output is kept even when a pipe never reaches EOF (a
        # process that escaped the group and holds it, possible with sandbox: none)
        read = getattr(pipe, "read1", None) or pipe.read  # type: ignore[attr-defined]
        while chunk := read(65536):
            room = self.cap - len(self.data)
            if len(chunk) > room:
                self.data += chunk[: max(room, 0)]
                self.exceeded = True
                kill_group(process)
                break
            self.data += chunk

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the program's whole process group (it was started in its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
