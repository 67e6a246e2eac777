"""Graceful shutdown: SIGTERM lets in-flight requests finish, turns new ones away (503 /
UNAVAILABLE: send it to another replica) and leaves no worker behind."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.errors import OverloadedError
from tests.conftest import start_server

pytestmark = pytest.mark.slow


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def test_sigterm_finishes_in_flight_work_and_leaves_no_workers():
    server = start_server()
    workers = _descendants(server.process.pid)
    assert workers, "the math pool should have worker processes"
    outcome: dict[str, httpx.Response] = {}
    body = {
        "reward": {"type": "math", "params": {"timeout_s": 2}},
        "items": [
            {"response": r"\boxed{9^{9^{9^{9^{9}}}}}", "reference": "1"},
            {"response": r"\boxed{2}", "reference": "2"},
        ],
    }

    def call() -> None:
        outcome["response"] = httpx.post(f"{server.url}/v1/score", json=body, timeout=30)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 20
    while httpx.get(f"{server.url}/readyz", timeout=5).json()["in_flight"] == 0:
        assert time.monotonic() < deadline, "the request never reached the server"
        time.sleep(0.02)
    os.kill(server.process.pid, signal.SIGTERM)
    # draining: new HTTP and gRPC calls are turned away to another replica (503 / UNAVAILABLE)
    time.sleep(0.3)
    with pytest.raises(OverloadedError, match="shutting down"):
        GrpcRewardClient(server.grpc_target, retries=0, timeout=10).score(
            "exact_match", [{"response": "a", "reference": "a"}]
        )
    thread.join(timeout=30)
    assert server.process.wait(timeout=30) == 0
    response = outcome["response"]
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["error"]["type"] == "timeout" and results[1]["score"] == 1.0
    deadline = time.monotonic() + 10
    while (alive := {pid for pid in workers if _running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"worker processes left behind: {alive}"


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed worker whose parent is gone waits for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
