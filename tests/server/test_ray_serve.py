"""The app as a Ray Serve deployment on a local Ray instance: two replicas, one schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rewardgym.client import RewardClient
from rewardgym.judges.runtime.ports import free_loopback_port

pytestmark = pytest.mark.slow


def test_ray_serve_runs_two_replicas_of_the_same_app(tmp_path):
    pytest.importorskip("ray.serve", reason="the ray extra is not installed")
    port = free_loopback_port()
    log = (tmp_path / "ray.log").open("w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "serve-ray",
            "--replicas",
            "2",
            "--port",
            str(port),
            "--num-cpus",
            "2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while "replicas running" not in (text := (tmp_path / "ray.log").read_text()):
            assert process.poll() is None, text[-3000:]
            assert time.monotonic() < deadline, text[-3000:]
            time.sleep(0.5)
        assert "2 replicas running" in text
        with RewardClient(f"http://127.0.0.1:{port}") as client:
            assert client.health()
            names = {info.name for info in client.rewards()}
            assert {"math", "exact_match"} <= names
            results = client.score("math", [{"response": r"\boxed{1/2}", "reference": "0.5"}] * 8)
            assert [r.score for r in results] == [1.0] * 8
            assert results[0].taxonomy.basis == "rule"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ray"), "stop", "--force"],
            capture_output=True,
            timeout=60,
        )
