"""The rewardgym command: --help everywhere, rewards table, score a JSONL file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_CONFIG, Server


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rewardgym", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin"},
    )


@pytest.mark.parametrize("command", [[], ["serve"], ["rewards"], ["score"]])
def test_every_command_explains_itself(command: list[str]):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    if command:
        assert "--config" in result.stdout


def test_rewards_table_from_the_default_config():
    result = run("rewards")
    assert result.returncode == 0, result.stderr
    for name in ("math", "exact_match", "think_answer_format", "math_with_format"):
        assert name in result.stdout


def test_rewards_table_from_a_server(server: Server):
    result = run("rewards", "--url", server.url)
    assert result.returncode == 0, result.stderr
    assert "strict_math" in result.stdout


def _write_items(path: Path) -> None:
    rows = [
        {"prompt": "1+1", "response": "\\boxed{2}", "reference": "2"},
        {"prompt": "1+2", "response": "\\boxed{4}", "reference": "3"},
        {"prompt": "?", "response": "\\boxed{1}"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("remote", [False, True])
def test_score_a_jsonl_file(tmp_path: Path, server: Server, remote: bool):
    items, out = tmp_path / "items.jsonl", tmp_path / "results.jsonl"
    _write_items(items)
    extra = ["--url", server.url] if remote else ["--config", str(TEST_CONFIG)]
    result = run("score", "--reward", "math", "--input", str(items), "--output", str(out), *extra)
    assert result.returncode == 0, result.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.get("score") for r in results] == [1.0, 0.0, None]
    assert results[2]["error"]["type"] == "invalid_input"
    assert "mean score" in result.stdout and "0.5000" in result.stdout


def test_score_with_an_unknown_reward_says_which_exist(tmp_path: Path):
    items = tmp_path / "items.jsonl"
    _write_items(items)
    result = run("score", "-r", "nope", "-i", str(items), "-o", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2
    assert "unknown reward 'nope'" in result.stdout and "math" in result.stdout


def test_score_rejects_a_bad_jsonl_line(tmp_path: Path):
    items = tmp_path / "items.jsonl"
    items.write_text('{"response": "a"}\nnot json\n')
    result = run("score", "-r", "math", "-i", str(items), "-o", str(tmp_path / "o.jsonl"))
    assert result.returncode != 0
    assert "items.jsonl:2 is not JSON" in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["train"], ["train", "grpo"], ["train", "self-rewarding"]])
def test_train_commands_explain_themselves(command: list[str]):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    if len(command) > 1:
        assert "--model" in result.stdout and "--output" in result.stdout
        assert "--env" in result.stdout


@pytest.mark.slow
def test_train_grpo_unknown_env_lists_the_registered_ones(tmp_path: Path):
    result = run(
        "train", "grpo", "--env", "nope/X-v0", "--model", str(tmp_path), "--output", str(tmp_path)
    )
    assert result.returncode != 0
    assert "rewardgym/ReasoningGym-v0" in result.stdout + result.stderr


def test_health_prints_each_rewards_table_row_from_a_server(server: Server):
    import httpx

    items = [{"response": "Paris", "reference": "paris"}] * 4 + [{"response": "x"}]
    assert httpx.post(f"{server.url}/v1/score", json={"reward": "exact_match", "items": items})
    result = run("health", "--url", server.url)
    assert result.returncode == 0, result.stderr
    assert "drift PSI" in result.stdout and "exact_match" in result.stdout
    as_json = run("health", "--url", server.url, "--json")
    windows = json.loads(as_json.stdout)
    assert any(w["reward"] == "exact_match" and w["items"] >= 5 for w in windows)
    assert "Example: rewardgym health --url" in run("health", "--help").stdout


def test_health_plots_each_rewards_distribution_over_time(server: Server, tmp_path: Path):
    import httpx

    url = f"{server.url}/v1/score"
    short = [{"response": "Rome"}] * 6
    assert httpx.post(url, json={"reward": "length_under_8", "items": short}).status_code == 200
    folder = tmp_path / "plots"
    command = ["health", "--url", server.url, "--plots", str(folder), "--snapshots", "2"]
    taking = subprocess.Popen(
        [sys.executable, "-m", "rewardgym", *command, "--every", "3"],
        stdout=subprocess.PIPE,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin"},
    )
    long = [{"response": "a much longer answer, one that runs on and on past eight words"}] * 6
    assert httpx.post(url, json={"reward": "length_under_8", "items": long}).status_code == 200
    out, _ = taking.communicate(timeout=120)
    assert taking.returncode == 0
    picture = folder / "health-length_under_8.png"
    assert f"plot: {picture}" in out.replace("\n", "")
    assert picture.read_bytes()[:4] == b"\x89PNG" and picture.stat().st_size > 20_000
    windows = json.loads(run("health", "--url", server.url, "--json").stdout)
    [whole] = [w for w in windows if w["reward"] == "length_under_8" and w["source"] == "*"]
    assert sum(whole["histogram"]["recent"]) == whole["scored"] >= 12
    assert len(whole["length_sample"]) == min(whole["scored"], 200)
