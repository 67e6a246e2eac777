"""Start a local vLLM OpenAI-compatible server from another Python environment.

For tests, benchmarks and trying a judge on one machine: vLLM lives in its own virtual
environment (it pins its own torch and transformers), so it is started as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from rewardgym.judges.runtime.ports import free_loopback_port

__all__ = ["running_vllm"]


@contextmanager
def running_vllm(
    python: str | Path,
    model: str | Path,
    *,
    served_name: str = "tiny-judge",
    max_model_len: int = 2048,
    memory_fraction: float = 0.15,
    start_timeout_s: float = 600,
    log_path: Path | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """Serve ``model`` with ``python -m vllm.entrypoints.openai.api_server`` on a free loopback
    port; yields the ``/v1`` base URL and stops the server on exit. ``memory_fraction`` is
    vLLM's --gpu-memory-utilization, which on its CPU backend sizes the KV cache in RAM;
    ``extra_args`` go on its command line (e.g. ``("--runner", "pooling")``)."""
    log_path = log_path or Path(model) / "vllm.log"
    port = free_loopback_port()
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(python),
                "-m",
                "vllm.entrypoints.openai.api_server",
                "--model",
                str(model),
                "--served-model-name",
                served_name,
                "--max-model-len",
                str(max_model_len),
                "--dtype",
                "float32",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--gpu-memory-utilization",
                str(memory_fraction),
                "--disable-log-stats",
                *extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"vLLM exited:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"vLLM did not start:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
