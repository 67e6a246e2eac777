"""Build the tiny random judge model and serve it with vLLM (for judge benchmarks)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rewardgym.judges.backends import vllm_launcher

__all__ = ["judge_url", "running_vllm"]

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_vllm(python: str) -> Iterator[str]:
    """Yield the /v1 URL of vLLM serving a freshly built tiny model."""
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny-judge"
        subprocess.run(
            [python, str(ROOT / "scripts" / "make_tiny_judge_model.py"), str(model)],
            check=True,
            capture_output=True,
        )
        with vllm_launcher.running_vllm(python, model) as url:
            yield url


@contextmanager
def judge_url(url: str | None, python: str) -> Iterator[str]:
    """``url`` (a running vLLM serving the tiny judge) when given, else one started here."""
    if url:
        yield url
    else:
        with running_vllm(python) as started:
            yield started
