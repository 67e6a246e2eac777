"""rewardgym environments in TRL's ``environment_factory`` slot: the adapter's tools played by a
scripted policy, and real TRL GRPO runs on MultiStep and MultiTurn with a tiny tool-calling
model (warmed up on tool calls by scripts/make_tiny_tool_model.py)."""

from __future__ import annotations

import inspect
import json
import math
import pickle
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

from rewardgym.envs.datasets import env_rows
from rewardgym.errors import ItemFailedError
from rewardgym.integrations.trl_env import (
    DialogueEnvironment,
    EnvironmentFactory,
    EpisodeLog,
    StepsEnvironment,
    SubmitEnvironment,
    ToolsEnvironment,
    environment_factory,
)

ROOT = Path(__file__).resolve().parents[2]


def rows(env_id: str, n: int, **kwargs: Any) -> list[dict[str, Any]]:
    return env_rows(gym.make(env_id, **kwargs), range(n))


def tools_of(instance: Any) -> list[str]:
    """The methods TRL would expose as tools (its own rule: public functions of the class)."""
    return sorted(
        name
        for name, _ in inspect.getmembers(type(instance), predicate=inspect.isfunction)
        if not name.startswith("_") and name not in ("reset", "get_reward")
    )


@pytest.mark.parametrize(
    ("env_id", "kwargs", "cls", "tools"),
    [
        ("rewardgym/ReasoningGym-v0", {"task": "basic_arithmetic"}, SubmitEnvironment, ["submit"]),
        ("rewardgym/SingleTurn-v0", {}, SubmitEnvironment, ["submit"]),
        ("rewardgym/MultiStep-v0", {}, StepsEnvironment, ["add_step", "submit"]),
        ("rewardgym/MultiTurn-v0", {}, DialogueEnvironment, ["reply"]),
        (
            "rewardgym/ToolUse-v0",
            {},
            ToolsEnvironment,
            ["calculator", "python", "search", "submit"],
        ),
    ],
)
def test_one_tool_per_kind_of_action_with_schemas_trl_can_build(
    env_id: str, kwargs: dict[str, Any], cls: type, tools: list[str]
):
    from transformers.utils import get_json_schema

    factory = environment_factory(env_id, **kwargs)
    instance = pickle.loads(pickle.dumps(factory))()  # the factory pickles, then works
    assert type(instance) is cls and tools_of(instance) == tools
    for name in tools:
        schema = get_json_schema(getattr(instance, name))  # fails on a docstring without Args:
        params = schema["function"]["parameters"]
        assert params["required"] and all(
            p["type"] == "string" for p in params["properties"].values()
        )
        assert all(p["description"] for p in params["properties"].values())


def test_same_row_same_start_and_a_played_episode_returns_the_env_s_own_return():
    factory = environment_factory("rewardgym/MultiStep-v0")
    [row] = rows("rewardgym/MultiStep-v0", 1)
    first, second = factory(), factory()
    assert first.reset(**row) is None  # the row's prompt already shows the task
    second.reset(**row)
    assert first._env.messages == second._env.messages
    no_prompt = {k: v for k, v in row.items() if k != "prompt"}
    assert factory().reset(**no_prompt) == row["prompt"][-1]["content"]  # else the task's text
    assert first.add_step("I multiply first.") == "I multiply first."
    assert first.submit(row["reference"]) == "The episode is over (final_answer)."
    assert first.get_reward() == math.fsum(first._env.rewards) == 1.0
    with pytest.raises(ValueError, match="episode is over"):
        first.add_step("more")
    second.reset(**row)
    second.submit("-1")
    assert second.get_reward() == 0.0  # a wrong answer, scored (not a failure)


def test_dialogue_replies_get_the_user_s_next_turn_and_each_turn_is_scored():
    factory = environment_factory("rewardgym/MultiTurn-v0")
    [row] = rows("rewardgym/MultiTurn-v0", 1)
    env = factory()
    env.reset(**row)
    assert "Check your answer" in env.reply(row["reference"])
    assert env.reply("no idea") == "The episode is over (end_of_dialogue)."
    assert env.get_reward() == 1.0  # turn one right, turn two wrong
    log: list[tuple[Any, ...]] = []
    EpisodeLog()(
        [None],
        [None],
        environments=[env],
        log_metric=lambda *a: log.append(a),
        log_extra=lambda *a: log.append(a),
    )
    assert ("rewardgym/tool_calls", 2.0) in log and ("rewardgym_stop", ["end_of_dialogue"]) in log


@pytest.mark.parametrize(("on_error", "expected"), [(None, None), (-1.0, -1.0)])
def test_a_failed_reward_follows_on_error_never_a_silent_zero(on_error: Any, expected: Any):
    spec = {"type": "math", "params": {"timeout_s": 1}}
    factory = environment_factory("rewardgym/SingleTurn-v0", reward=spec, on_error=on_error)
    env = factory()
    env.reset(task={"prompt": "Compute it.", "reference": "1"})
    env.submit(r"\boxed{9^{9^{9^{9^{9}}}}}")  # the math check times out
    assert env._env.stop == "timeout" and env.get_reward() == expected


def test_on_error_raise_and_unknown_ids_are_clear_errors():
    spec = {"type": "math", "params": {"timeout_s": 1}}
    env = environment_factory("rewardgym/SingleTurn-v0", reward=spec, on_error="raise")()
    env.reset(task={"prompt": "Compute it.", "reference": "1"})
    env.submit(r"\boxed{9^{9^{9^{9^{9}}}}}")
    with pytest.raises(ItemFailedError, match="timeout"):
        env.get_reward()
    with pytest.raises(ValueError, match="registered: rewardgym/MultiStep-v0"):
        environment_factory("rewardgym/Nope-v0")
    with pytest.raises(ValueError, match="final_pattern"):
        environment_factory("rewardgym/MultiStep-v0", final_pattern=r"^DONE$")


# ---- real TRL GRPO runs ------------------------------------------------------------------------


CREATED: list[Any] = []


class RecordingFactory(EnvironmentFactory):
    """The real factory, keeping every instance TRL makes so the test can look inside."""

    def __call__(self) -> Any:
        instance = super().__call__()
        CREATED.append(instance)
        return instance


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env_id", "env_kwargs", "cls"),
    [
        # a step reward (no repetition) as well, so that returns are not all 0 for a tiny model
        ("rewardgym/MultiStep-v0", {"step_reward": "no_repetition"}, StepsEnvironment),
        ("rewardgym/MultiTurn-v0", {}, DialogueEnvironment),
        # tool calls that fail cost a little, so that returns are not all 0 for a tiny model
        ("rewardgym/ToolUse-v0", {"tool_rewards": {}}, ToolsEnvironment),
    ],
)
def test_trl_grpo_trains_through_the_environment_factory(
    tool_model: Path, tmp_path: Path, env_id: str, env_kwargs: dict[str, Any], cls: type
):
    import datasets
    import trl
    from transformers import AutoTokenizer

    from rewardgym.trainers.grpo import tool_calling_tokenizer
    from rewardgym.trainers.trl_args import common_trl_args

    CREATED.clear()
    factory = RecordingFactory(env_id, env_kwargs)
    pickle.loads(pickle.dumps(factory))  # TRL's asynchronous trainer pickles it
    tokenizer = tool_calling_tokenizer(AutoTokenizer.from_pretrained(tool_model), str(tool_model))
    steps, batch = 2, 4
    config = trl.GRPOConfig(
        **common_trl_args(str(tmp_path / "grpo"), use_cpu=True, seed=0),
        max_steps=steps,
        per_device_train_batch_size=batch,
        num_generations=4,
        max_completion_length=128,
        max_tool_calling_iterations=4,
        learning_rate=1e-5,
        temperature=1.0,
    )
    trainer = trl.GRPOTrainer(
        model=str(tool_model),
        reward_funcs=[EpisodeLog()],
        args=config,
        train_dataset=datasets.Dataset.from_list(rows(env_id, 8, **env_kwargs)),
        processing_class=tokenizer,
        environment_factory=factory,
    )
    trainer.train()
    assert CREATED and all(type(e) is cls for e in CREATED)
    assert sum(e._resets for e in CREATED) == steps * batch  # reset once per rollout
    calls = sum(e._tool_calls_total for e in CREATED)
    assert calls >= 2, calls  # tool calls reached the environment (8 rollouts)
    logged = [h for h in trainer.state.log_history if f"rewards/{cls.__name__}/mean" in h]
    assert len(logged) == steps
    returns = [e.get_reward() for e in CREATED]  # the last batch's episodes
    assert logged[-1][f"rewards/{cls.__name__}/mean"] == pytest.approx(
        statistics.fmean(r for r in returns if r is not None)
    )
    for e in CREATED:
        assert e.get_reward() == math.fsum(e._env.rewards)
    assert any("rewardgym/tool_calls" in h for h in trainer.state.log_history)
    if cls is ToolsEnvironment:  # the warmed model computes with the calculator, then submits
        used = [m["name"] for e in CREATED for m in e._env.messages if m["role"] == "tool"]
        assert "calculator" in used, used
    print(f"\n{env_id}: {calls} tool calls in {steps * batch} rollouts, returns {returns}")


@pytest.mark.slow
def test_train_grpo_cli_takes_the_environment_slot_for_multi_turn(tool_model: Path, tmp_path: Path):
    out = tmp_path / "run"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "train",
            "grpo",
            "--env",
            "rewardgym/MultiTurn-v0",
            "--model",
            str(tool_model),
            "--output",
            str(out),
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
            "--eval-every",
            "1",
            "--max-completion-length",
            "128",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    curve = json.loads((out / "grpo_curve.json").read_text())
    assert [p["step"] for p in curve["train"]] == [1, 2]
    assert [p["step"] for p in curve["heldout"]] == [0, 1, 2]  # TRL's evaluation of the tool loop
    assert (out / "model" / "config.json").exists()


def test_a_tokenizer_without_tools_gets_a_clear_error(tiny_judge_dir: Path):
    from transformers import AutoTokenizer

    from rewardgym.trainers.grpo import tool_calling_tokenizer

    with pytest.raises(ValueError, match="does not render tools"):
        tool_calling_tokenizer(AutoTokenizer.from_pretrained(tiny_judge_dir), str(tiny_judge_dir))


def test_a_tool_use_episode_played_through_the_adapter_returns_the_env_s_own_return():
    factory = environment_factory("rewardgym/ToolUse-v0", tools=["calculator"], tool_rewards={})
    env = factory()
    assert env.reset(task={"prompt": "What is 1234 * 5678?", "reference": "7006652"}) is not None
    assert env.calculator("1234 * 5678") == "7006652"
    assert "no tool 'python'" in env.python("print(1)")
    assert env.submit("\\boxed{7006652}").startswith("The episode is over (final_answer)")
    again = factory()
    again.reset(task={"prompt": "2 + 2?", "reference": "4"})
    forged = '<tool_call>{"name": "calculator", "arguments": {"expression": "2+2"}}</tool_call>'
    assert again.submit(forged).startswith("The episode is over")  # an answer ends it
    assert env.get_reward() == pytest.approx(0.0 - 0.1 + 1.0)
    assert env._env.rewards == pytest.approx([0.0, -0.1, 1.0])


def test_rewards_can_come_from_a_remote_server(server: Any):
    import httpx

    from tests.server.test_ops import metric

    def calls() -> float:
        scraped = httpx.get(f"{server.url}/metrics").text
        return metric(scraped, "rewardgym_requests_total", reward="math", kind="score") or 0.0

    before = calls()
    env = environment_factory("rewardgym/SingleTurn-v0", url=server.url)()
    env.reset(task={"prompt": "What is 6 * 7?", "reference": "42"})
    env.submit(r"\boxed{42}")
    assert env.get_reward() == 1.0
    assert calls() == before + 1  # scored by the server, not in this process
