"""Start a real rewardgym server for a benchmark (loopback, free ports)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from rewardgym.judges.runtime.ports import free_loopback_port

__all__ = ["running_server", "start_server_process"]


def start_server_process(
    *args: str, grpc: bool = False, env: dict[str, str] | None = None
) -> tuple[str, str | None, subprocess.Popen[bytes]]:
    """``python -m rewardgym serve`` on free ports, ready; (HTTP URL, gRPC target, process)."""
    port = free_loopback_port()
    grpc_port = free_loopback_port() if grpc else -1
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "serve",
            "--port",
            str(port),
            "--grpc-port",
            str(grpc_port),
            "--log-level",
            "warning",
            *args,
        ],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return url, (f"127.0.0.1:{grpc_port}" if grpc else None), process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start in 90 s")


@contextmanager
def running_server(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``python -m rewardgym serve`` on a free port; yields its base URL."""
    url, _, process = start_server_process(*args, env=env)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
