"""Start a real rewardgym server for a benchmark (loopback, free ports)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from rewardgym._ports import free_loopback_port

__all__ = ["running_server"]


@contextmanager
def running_server(*args: str) -> Iterator[str]:
    """``python -m rewardgym serve`` on a free port; yields its base URL."""
    port = free_loopback_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "serve",
            "--port",
            str(port),
            "--grpc-port",
            "-1",
            "--log-level",
            "warning",
            *args,
        ],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
