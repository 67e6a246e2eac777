"""Run untrusted Python in a bubblewrap sandbox, with limits, and always end it.

Each run gets: new namespaces (``--unshare-all``: no network, own PIDs, IPC, UTS, user), the
system interpreter's ``/usr`` read-only and nothing else of the host (no server files, no
``/etc``, no ``/root``, a cleared environment), a private size-capped ``/tmp``, the program
read-only at ``/sandbox/main.py``, and an unprivileged user (uid 65534 when the server runs as
root, so the kernel's per-user process limit applies to this run alone; a server that is not
root relies on the PID namespace and the deadline instead). Resource limits (``setrlimit``):
CPU seconds, address space, processes, file size, open files, no core dumps. A wall-clock
deadline kills the whole process group (bwrap's PID namespace dies with it); stdout and stderr
are read up to ``output_bytes`` each and the program is killed when it writes more. A sandbox
that cannot start here (no user namespaces, say) is found by a probe run at start-up.

There is no unsandboxed fallback: a missing ``bwrap`` is a ``SandboxUnavailable`` error.
``sandbox="none"`` exists for trusted code only and warns every time it starts.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Literal

from rewardgym.judges.runtime.limits import (
    CappedOutput,
    Limits,
    RunResult,
    kill_group,
    limit_preexec,
)
from rewardgym.judges.runtime.seccomp import filter_program

__all__ = ["Limits", "RunResult", "Sandbox", "SandboxUnavailable", "find_bwrap"]

log = logging.getLogger(__name__)

NOBODY = 65534
SETUP_RETRIES = 8
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
"""Interpreters under /usr (readable by any user, bound read-only): Debian's, or the python
image's (python:3.x-slim has only /usr/local)."""
SYSTEM_PYTHON = next((p for p in SYSTEM_PYTHONS if Path(p).exists()), SYSTEM_PYTHONS[0])


class SandboxUnavailable(RuntimeError):
    """bubblewrap is not installed (or cannot run here)."""


def find_bwrap() -> str | None:
    """The bwrap executable, or None."""
    return shutil.which("bwrap")


_NO_USERNS = ("--unshare-user", "--disable-userns")  # no namespaces made inside


@functools.cache
def _bwrap_supports(bwrap: str, option: str) -> bool:
    """Whether this bubblewrap knows ``option`` (``--disable-userns`` came in 0.8.0)."""
    try:
        text = subprocess.run(
            [bwrap, "--help"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    if option not in text:
        log.warning("bubblewrap has no %s here; the sandbox runs without it", option)
    return option in text


def _mounts(python: str) -> list[str]:
    """Read-only /usr (the interpreter and its standard library), the merged-/usr symlinks."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
    prefix = Path(python).resolve().parent.parent
    if not str(prefix).startswith("/usr"):
        args += ["--ro-bind", str(prefix), str(prefix)]
    return args


class Sandbox:
    """Runs Python programs one at a time per call (use a pool of threads for concurrency).

    Args:
        kind: ``bubblewrap`` (default) or ``none`` (trusted code only: no isolation at all).
        python: the interpreter inside the sandbox (the system one: readable by any user).
        read_only: host folders bound read-only at the same paths (a library's site-packages).
        env: extra environment variables inside the sandbox.
    """

    def __init__(
        self,
        kind: Literal["bubblewrap", "none"] = "bubblewrap",
        python: str | None = None,
        read_only: tuple[str, ...] = (),
        env: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.kind = kind
        self.read_only = read_only  # host folders the program may read (at the same paths)
        self.env = env
        self.python = python or (SYSTEM_PYTHON if Path(SYSTEM_PYTHON).exists() else None)
        if kind == "bubblewrap":
            self.bwrap = find_bwrap()
            if self.bwrap is None:
                raise SandboxUnavailable(
                    "bubblewrap (bwrap) is not installed; install it (Debian: apt-get install "
                    "bubblewrap). Code is never run unsandboxed unless sandbox: none is set."
                )
            if self.python is None:
                raise SandboxUnavailable(f"no system interpreter at {SYSTEM_PYTHON}")
            probe = self.run("print('ok')", limits=Limits(wall_s=30))
            if probe.stdout.strip() != "ok":
                raise SandboxUnavailable(
                    f"bubblewrap cannot run here (exit {probe.exit_code}): "
                    f"{probe.stderr.strip()[-500:]}"
                )
        else:
            import sys

            self.bwrap = None
            self.python = self.python or sys.executable
            log.warning("sandbox: none; untrusted code would run with this server's rights")

    def command(
        self, limits: Limits, seccomp_fd: int | None = None, status_fd: int | None = None
    ) -> list[str]:
        assert self.python is not None
        if self.bwrap is None:
            return [self.python, "-I", "main.py"]
        hardening = [*_NO_USERNS] if _bwrap_supports(self.bwrap, "--disable-userns") else []
        if seccomp_fd is not None:
            hardening += ["--seccomp", str(seccomp_fd)]
        if status_fd is not None:  # bwrap writes {"exit-code": N} there when the program ends
            hardening += ["--json-status-fd", str(status_fd)]
        return [
            self.bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin",
            "--setenv", "HOME", "/tmp",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            *_mounts(self.python),
            *[arg for name, value in self.env for arg in ("--setenv", name, value)],
            "--proc", "/proc",
            "--dev", "/dev",
            # /dev/shm is host-sized unless bounded: a program could fill the host's memory.
            "--size", str(limits.shm_size_mb * 1024 * 1024), "--tmpfs", "/dev/shm",
            "--size", str(limits.tmp_size_mb * 1024 * 1024), "--tmpfs", "/tmp",
            # after the tmpfs mounts, so that a folder under /tmp (a venv there) is not hidden
            *[arg for path in self.read_only for arg in ("--ro-bind", path, path)],
            *hardening,
            "--ro-bind", "main.py", "/sandbox/main.py",
            "--chdir", "/tmp",
            self.python, "-I", "/sandbox/main.py",
        ]  # fmt: skip

    def run(
        self, source: str, stdin: str = "", limits: Limits | None = None, uid: int = NOBODY
    ) -> RunResult:
        """Run ``source`` to the end (or to a limit); never raises for what the program does.
        ``uid``: the unprivileged user it runs as when the server is root (one per pool slot,
        so one program's process limit is not another's)."""
        limits = limits or Limits()
        with tempfile.TemporaryDirectory(prefix="rewardgym-code-") as workdir:
            program = Path(workdir) / "main.py"
            program.write_text(source, encoding="utf-8")
            os.chmod(workdir, 0o755)
            os.chmod(program, 0o644)
            drop = uid if self.bwrap is not None and os.geteuid() == 0 else None
            for attempt in range(1, SETUP_RETRIES + 1):
                result, ran = self._run(workdir, stdin, limits, drop)
                if ran or not _setup_raced(result) or attempt == SETUP_RETRIES:
                    return result
                # The last run's processes of this user were still being reaped, so bwrap
                # could not fork within the process limit: wait a moment, start again.
                time.sleep(0.1 * attempt)
            return result

    def _run(
        self, workdir: str, stdin: str, limits: Limits, uid: int | None
    ) -> tuple[RunResult, bool]:
        """The run's result, and whether the program ran to its end inside the sandbox (bwrap's
        own status, which the program cannot write: one that prints bwrap's setup error and
        exits is not run again; bwrap failing to fork it, which writes no exit, is)."""
        started = time.monotonic()
        program = filter_program() if self.bwrap is not None else None
        seccomp_read = status_read = status_write = None
        if program is not None:  # bwrap reads the filter from a pipe it inherits
            seccomp_read, seccomp_write = os.pipe()
            os.write(seccomp_write, program)
            os.close(seccomp_write)
            status_read, status_write = os.pipe()
        passed = tuple(fd for fd in (seccomp_read, status_write) if fd is not None)
        try:
            process = subprocess.Popen(
                self.command(limits, seccomp_read, status_write),
                cwd=workdir,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=limit_preexec(limits, uid),  # limits and the user are set there
                env={"PATH": "/usr/bin:/bin", **dict(self.env)} if self.bwrap is None else {},
                pass_fds=passed,
            )
        except BaseException:
            if status_read is not None:
                os.close(status_read)
            raise
        finally:
            for fd in passed:
                os.close(fd)
        out = CappedOutput(limits.output_bytes)
        err = CappedOutput(limits.output_bytes)
        readers = [
            threading.Thread(target=out.drain, args=(process.stdout, process), daemon=True),
            threading.Thread(target=err.drain, args=(process.stderr, process), daemon=True),
        ]
        for reader in readers:
            reader.start()
        # stdin from a thread of its own: a program that never reads a large input must not
        # hold this thread in write() past the wall clock (the limit starts now, not after it)
        assert process.stdin is not None
        writer = threading.Thread(target=_feed, args=(process.stdin, stdin.encode()), daemon=True)
        writer.start()
        timed_out = False
        try:
            process.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        kill_group(process)
        for thread in (*readers, writer):
            thread.join(timeout=2)
        code = process.returncode
        result = RunResult(
            exit_code=code,
            stdout=out.text(),
            stderr=err.text(),
            wall_s=time.monotonic() - started,
            timed_out=timed_out,
            output_exceeded=out.exceeded or err.exceeded,
            signal=-code if code is not None and code < 0 else None,
        )
        return result, status_read is None or _program_exited(status_read)


def _feed(pipe: Any, data: bytes) -> None:
    try:
        pipe.write(data)
    except OSError:  # the program ended (or was killed) without reading it all
        pass
    finally:
        with contextlib.suppress(OSError):
            pipe.close()


def _program_exited(status_read: int) -> bool:
    """Whether bwrap reported the program's exit (``child-pid`` comes before bwrap forks the
    program inside the namespace, so only ``exit-code`` says the program ran)."""
    chunks: list[bytes] = []
    try:
        os.set_blocking(status_read, False)
        while chunk := os.read(status_read, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(status_read)
    return b'"exit-code"' in b"".join(chunks)


def _setup_raced(result: RunResult) -> bool:
    """bwrap itself failed to fork (EAGAIN) before the program started."""
    return (
        result.exit_code == 1
        and result.stderr.startswith("bwrap: ")
        and "Resource temporarily unavailable" in result.stderr
    )
