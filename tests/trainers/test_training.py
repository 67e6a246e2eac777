"""rewardgym's own training loops on a tiny local model: the environment reward function,
``rewardgym train grpo --env`` against a real server, and the self-rewarding DPO loop (one
iteration judged by the model itself, then a resumed run judged by the environment)."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server

pytest.importorskip("trl", reason="the train extra is not installed")

from rewardgym.envs.datasets import env_rows
from rewardgym.integrations.trl_env_reward import EnvReward
from rewardgym.judges.runtime.ports import free_loopback_port
from rewardgym.trainers.runs import SelfRewardingRun
from rewardgym.trainers.self_judging import build_pairs
from rewardgym.trainers.self_rewarding import train_self_rewarding

ARITHMETIC = {
    "task": "basic_arithmetic",
    "size": 40,
    "task_config": {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 1},
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(n: int) -> list[dict]:
    import gymnasium as gym

    env = gym.make("rewardgym/ReasoningGym-v0", **ARITHMETIC)
    try:
        return env_rows(env, range(n))
    finally:
        env.close()


@pytest.mark.slow
def test_env_reward_scores_right_and_wrong_answers_and_pickles():
    rows = _rows(3)
    reward = EnvReward("rewardgym/ReasoningGym-v0", ARITHMETIC)
    right = [f"<answer>{r['reference']}</answer>" for r in rows]
    wrong = [f"<answer>{int(r['reference']) + 1}</answer>" for r in rows]
    logged: dict[str, list[str]] = {}
    values = reward(
        [r["prompt"] for r in rows] * 2,
        right + wrong,
        task=[r["task"] for r in rows] * 2,
        log_extra=lambda column, v: logged.setdefault(column, v),
    )
    assert len(values) == 6
    assert values[:3] == [1.0, 1.0, 1.0]
    assert all(v is not None and v < 1.0 for v in values[3:])
    assert logged["rewardgym_env_stop"] == ["final_answer"] * 6
    clone = pickle.loads(pickle.dumps(reward))
    assert clone([rows[0]["prompt"]], [right[0]], task=[rows[0]["task"]]) == [1.0]


def test_env_reward_plays_a_multi_step_completion_step_by_step():
    task = json.dumps({"prompt": "What is 2 + 3?", "reference": "5"})
    reward = EnvReward(
        "rewardgym/MultiStep-v0",
        {"tasks": [{"prompt": "x", "reference": "5"}], "step_reward": "length_under_512"},
        split="lines",
    )
    envs = reward.play([task, task], ["2 plus 3\nis five\n\\boxed{5}", "2 plus 3\nthinking"])
    assert envs[0].steps == ["2 plus 3", "is five", "\\boxed{5}"] and envs[0].stop == "final_answer"
    assert envs[1].steps == ["2 plus 3", "thinking"] and envs[1].stop is None  # ran out of steps
    finished, unfinished = reward(["q", "q"], ["a\n\\boxed{5}", "a\nb"], task=[task, task])
    assert finished is not None and unfinished is not None
    assert finished > unfinished  # only the finished one earns the outcome reward


def test_env_reward_failed_item_is_none_not_zero():
    # The reasoning_gym checker needs the task in the item metadata; these rows lack it.
    reward = EnvReward(
        "rewardgym/SingleTurn-v0",
        {"tasks": [{"prompt": "x", "reference": "1"}], "reward": {"type": "reasoning_gym"}},
    )
    task = json.dumps({"prompt": "1 + 0?", "reference": "1"})
    assert reward(["q"], ["<answer>1</answer>"], task=[task]) == [None]
    reward.on_error = -1.0
    assert reward(["q"], ["<answer>1</answer>"], task=[task]) == [-1.0]


def test_env_reward_refuses_multi_turn_with_a_reason():
    reward = EnvReward("rewardgym/MultiTurn-v0", {"tasks": [{"turns": ["hi", "more"]}]})
    with pytest.raises(ValueError, match="multi-turn"):
        reward(["q"], ["a"], task=[json.dumps({"turns": ["hi", "more"]})])


def test_build_pairs_drops_ties_and_small_margins_and_controls_length():
    groups = [
        ("p1", [("long good answer", 1.0), ("ok", 1.0), ("bad", 0.0), ("very bad long", 0.0)]),
        ("p2", [("a", 0.5), ("b", 0.5)]),  # a tie: no pair
        ("p3", [("a", 0.55), ("b", 0.5)]),  # margin 0.05 <= 0.1: dropped
        ("p4", [("a", None), ("b", math.nan), ("c", 1.0)]),  # one scored response: no pair
    ]
    plain = build_pairs(groups, min_margin=0.1)
    assert [(p["prompt"], p["chosen"], p["rejected"]) for p in plain] == [
        ("p1", "long good answer", "bad")
    ]
    controlled = build_pairs(groups, min_margin=0.1, length_control=True)
    assert (controlled[0]["chosen"], controlled[0]["rejected"]) == ("ok", "very bad long")
    assert len(build_pairs(groups)) == 2  # p3 kept without a margin


def _inline_calls(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    found = re.search(
        r'rewardgym_requests_total\{kind="score",reward="inline:reasoning_gym"\} (\S+)', text
    )
    return float(found.group(1)) if found else 0.0


@pytest.mark.slow
def test_train_grpo_cli_through_the_environment_on_a_real_server(
    server: Server, tiny_judge_dir: Path, tmp_path: Path
):
    out = tmp_path / "grpo"
    before = _inline_calls(server)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "train",
            "grpo",
            "--env",
            "rewardgym/ReasoningGym-v0",
            "--env-kwargs",
            json.dumps(ARITHMETIC),
            "--model",
            str(tiny_judge_dir),
            "--output",
            str(out),
            "--url",
            server.url,
            "--steps",
            "2",
            "--train-size",
            "8",
            "--heldout-size",
            "4",
            "--batch-size",
            "4",
            "--num-generations",
            "4",
            "--max-completion-length",
            "6",
            "--eval-every",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={"COLUMNS": "200", "PATH": "/usr/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    curve = json.loads((out / "grpo_curve.json").read_text())
    assert [p["step"] for p in curve["train"]] == [1, 2]
    assert [p["step"] for p in curve["heldout"]] == [0, 1, 2]
    assert (out / "grpo_curve.png").read_bytes()[:8] == PNG_MAGIC
    report = json.loads((out / "grpo_report.json").read_text())
    assert report["steps"] == 2 and report["heldout_start"] == curve["heldout"][0]["reward"]
    assert (out / "model" / "config.json").is_file()
    # rewards came from the server: 2 steps + 3 held-out evaluations, one call each at least
    assert _inline_calls(server) - before >= 5
    assert "heldout_end" in result.stdout


@pytest.mark.slow
def test_self_rewarding_one_iteration_judged_by_itself_then_resumed(
    tiny_judge_dir: Path, tmp_path: Path
):
    out = tmp_path / "self"
    run = SelfRewardingRun(
        model=str(tiny_judge_dir),
        output_dir=str(out),
        env_kwargs=ARITHMETIC,
        judge="self",
        judge_verdict="logprobs",  # a random tiny model writes no verdict: read probabilities
        iterations=1,
        prompts_per_iteration=4,
        train_size=8,
        heldout_size=4,
        samples=3,
        max_new_tokens=6,
        batch_size=4,
    )
    [report] = train_self_rewarding(run, show_progress=False)
    assert report["iteration"] == 1 and report["samples"] == 12 and report["unscored"] == 0
    assert 0.0 <= report["mean_judge_score"] <= 1.0
    assert report["pairs"] == 4  # continuous judge scores: no ties among three samples
    assert "dpo_loss_first" in report and math.isfinite(report["dpo_loss_last"])
    assert 0.0 <= report["heldout_reward"] <= 1.0
    saved = out / "iteration-1"
    assert (saved / "config.json").is_file() and (saved / "report.json").is_file()
    assert (out / "self_rewarding_curve.png").read_bytes()[:8] == PNG_MAGIC
    from rewardgym.judges.backends.transformers_local import _VIEWS
    from rewardgym.judges.runtime.model_loader import _LOADED

    assert not any(key[0] == str(tiny_judge_dir) for key in _VIEWS)  # the judge was let go
    assert not any(key[1] == str(tiny_judge_dir) for key in _LOADED)  # by the one loader too

    # Resume: the finished iteration is kept, iteration 2 (judged by the environment) is new.
    stamp = (saved / "report.json").stat().st_mtime_ns
    run.iterations, run.judge = 2, "env"
    reports = train_self_rewarding(run, show_progress=False)
    assert [r["iteration"] for r in reports] == [1, 2]
    assert (saved / "report.json").stat().st_mtime_ns == stamp
    assert reports[1]["judge"] == "env" and reports[1]["judge_agreement"] in (None, 1.0)
    summary = json.loads((out / "self_rewarding_report.json").read_text())
    assert len(summary["iterations"]) == 2 and "heldout_reward" in summary["initial"]


@pytest.mark.slow
def test_self_rewarding_with_a_judge_that_never_answers_warns_and_exits_1(
    tiny_judge_dir: Path, tmp_path: Path
):
    """Fault injection: the judge's backend is a closed port, so every judgment is unscored;
    the run says so and fails instead of exiting 0 with an untrained model."""
    down = f"http://127.0.0.1:{free_loopback_port()}/v1"
    judge = {
        "type": "pointwise",
        "params": {"backend": {"base_url": down, "model": "m", "max_retries": 0, "cache": False}},
    }
    sizes = ["--prompts-per-iteration", "2", "--samples", "2", "--max-new-tokens", "4"]
    result = subprocess.run(
        [
            *(sys.executable, "-m", "rewardgym", "train", "self-rewarding", "--cpu"),
            *("--model", str(tiny_judge_dir), "--output", str(tmp_path / "out")),
            *("--judge", json.dumps(judge), "--env-kwargs", json.dumps(ARITHMETIC)),
            *("--iterations", "1", "--train-size", "4", "--heldout-size", "2", *sizes),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "iteration 1 made no pairs (4/4 judgments unscored" in result.stdout
    assert "no iteration made a pair" in result.stdout
