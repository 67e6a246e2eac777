"""Gymnasium environments over rewardgym rewards: real rewards in process, a real server on
loopback for the remote and vector paths, a real step judge (fault server, scripted verdicts)."""

from __future__ import annotations

import math
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import httpx
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.spaces import Text
from gymnasium.utils.env_checker import check_env

import rewardgym.envs
from rewardgym.envs.multi_step import MultiStepEnv
from rewardgym.envs.multi_turn import MultiTurnEnv
from rewardgym.envs.rollout import collect, to_dpo_pairs, to_grpo_groups
from rewardgym.envs.single_turn import SingleTurnEnv
from rewardgym.envs.spaces import text_space
from rewardgym.envs.tasks import MTBenchSource, ReasoningGymSource
from rewardgym.envs.vector import BatchedTextEnv
from rewardgym.errors import ItemFailedError, RequestTimeoutError, UnavailableError
from rewardgym.scoring import RemoteScorer
from tests.conftest import Server, shared_path
from tests.judges.test_judge_faults import faulty  # noqa: F401  (the scripted judge server fixture)

ARITHMETIC = [
    {"prompt": "What is 6 * 7?", "reference": "42"},
    {"prompt": "What is 2 + 2?", "reference": "4"},
]


def solve(prompt: str) -> str:
    """A perfect policy for reasoning-gym's chain_sum ("...problem: 4 - 1 - 7 =")."""
    expression = prompt.split(":")[-1].rstrip("= ")
    assert re.fullmatch(r"[\d\s+-]+", expression), expression
    return f"<answer>{eval(expression, {'__builtins__': {}})}</answer>"  # digits, + and - only


def requests_at(server: Server, reward: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    pattern = rf'rewardgym_requests_total\{{kind="score",reward="{reward}"\}} (\S+)'
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize(
    "env_id",
    [  # ReasoningGym builds its task generators: seconds
        pytest.param(e, marks=pytest.mark.slow) if e == "rewardgym/ReasoningGym-v0" else e
        for e in sorted(rewardgym.envs.ENV_IDS)
    ],
)
def test_check_env_passes_for_every_registered_id(env_id: str):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs) and obs
    assert "reference" in info and info["messages"][-1]["content"] == obs
    assert isinstance(env.unwrapped.render(), str)
    env.close()


def test_text_space_takes_real_completions():
    completion = "Let x = 2.\n\tThen x² = 4 — so \\boxed{4} ✓ 答案 🙂"
    assert text_space().contains(completion)
    assert not Text(100).contains("two words")  # gymnasium's default charset: why LLMText exists
    assert not text_space(10).contains("x" * 11) and not text_space().contains("a\x00b")


@pytest.mark.slow
@pytest.mark.parametrize("family", ["basic_arithmetic", "chain_sum"])
def test_reasoning_gym_known_right_and_wrong_answers(family: str):
    env = gym.make("rewardgym/ReasoningGym-v0", task=family)
    for seed in range(3):
        _, info = env.reset(seed=seed)
        _, right, terminated, truncated, info = env.step(f"<answer>{info['reference']}</answer>")
        assert (right, terminated, truncated, info["stop"]) == (1.0, True, False, "final_answer")
        env.reset(seed=seed)
        _, wrong, *_, info = env.step("I think it is <answer>not a number</answer>")
        assert wrong == 0.0 and info["result"].metadata["answer"] == "not a number"
    env.close()


def test_same_seed_or_same_row_gives_the_same_start():
    env = gym.make("rewardgym/SingleTurn-v0")
    first = env.reset(seed=11)
    again = env.reset(seed=11)
    assert first[0] == again[0] and first[1]["task"] == again[1]["task"]
    assert env.reset(seed=12)[0] != first[0] or env.reset(seed=13)[0] != first[0]
    obs, info = env.reset(options={"task": ARITHMETIC[0]})
    assert obs == "What is 6 * 7?" and info["reference"] == "42"
    assert env.reset(options={"index": 5})[0] == ReasoningGymSource("basic_arithmetic")[5].prompt


def test_step_after_the_end_and_non_text_actions_are_clear_errors():
    env = SingleTurnEnv(tasks=ARITHMETIC)
    env.reset(seed=0)
    with pytest.raises(TypeError, match="an action is text"):
        env.step(42)  # type: ignore[arg-type]
    env.step("\\boxed{42}")
    with pytest.raises(ResetNeeded, match="call reset"):
        env.step("again")


def test_a_failed_reward_is_never_a_silent_zero():
    # The reasoning_gym checker needs the task in the item's metadata: plain rows lack it.
    spec = {"type": "reasoning_gym"}
    env = SingleTurnEnv(reward=spec, tasks=ARITHMETIC)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("<answer>42</answer>")
    assert math.isnan(reward) and terminated and info["stop"] == "reward_error"
    assert info["result"].error.type == "invalid_input" and info["result"].score is None
    fixed = SingleTurnEnv(reward=spec, tasks=ARITHMETIC, on_error=-1.0)
    fixed.reset(seed=0)
    assert fixed.step("<answer>42</answer>")[1] == -1.0
    strict = SingleTurnEnv(reward=spec, tasks=ARITHMETIC, on_error="raise")
    strict.reset(seed=0)
    with pytest.raises(ItemFailedError, match="invalid_input"):
        strict.step("<answer>42</answer>")


def test_multistep_step_judge_rewards_then_the_outcome(faulty: str):  # noqa: F811
    judge = {
        "type": "step",
        "params": {
            "verdict": "text",
            "backend": {"base_url": f"{faulty}/steps/v1", "model": "m", "cache": False},
        },
    }
    env = MultiStepEnv(
        outcome_reward="math",
        step_reward=judge,
        tasks=[{"prompt": "2 + 3 * 4?", "reference": "14"}],
        step_weight=0.5,
    )
    obs, _ = env.reset(seed=0)
    assert obs == "2 + 3 * 4?"
    obs, r1, *_ = env.step("3 * 4 = 12")
    assert obs == "3 * 4 = 12"
    obs, r2, term, trunc, info = env.step("2 + 12 = 15, a wrong sum")
    assert (r1, r2, term, trunc) == (0.5, 0.0, False, False)
    assert [s.label for s in info["step_result"].steps] == ["correct", "incorrect"]
    _, r3, term, trunc, info = env.step("Final answer: \\boxed{14}")
    assert (r3, term, trunc, info["stop"]) == (0.5 + 1.0, True, False, "final_answer")
    assert info["outcome_result"].score == 1.0 and len(info["steps"]) == 3


def test_multistep_truncates_at_max_steps_with_the_outcome_scored():
    env = MultiStepEnv(tasks=ARITHMETIC, max_steps=2)
    env.reset(options={"task": ARITHMETIC[0]})
    assert env.step("6 * 7 is 42")[1:4] == (0.0, False, False)  # outcome only: sparse
    _, reward, terminated, truncated, info = env.step("yes, 42")
    assert (terminated, truncated, info["stop"]) == (False, True, "max_steps")
    assert reward == 1.0  # math finds 42 in the whole solution


def test_multiturn_script_per_turn_references_and_final_aggregate():
    contains = {"type": "string_check", "params": {"operation": "icontains"}}
    rows = [{"prompt": "Capital of France?", "turns": ["Capital of France?", "And of Italy?"]}]
    rows[0]["reference"] = ["Paris", "Rome"]
    env = MultiTurnEnv(turn_reward=contains, tasks=rows, reward_mode="final", aggregate="mean")
    obs, _ = env.reset(seed=0)
    assert obs == "Capital of France?"
    obs, reward, terminated, truncated, info = env.step("Paris.")
    assert (obs, reward, terminated) == ("And of Italy?", 0.0, False)
    _, reward, terminated, truncated, info = env.step("Milan.")
    assert (reward, terminated, truncated, info["stop"]) == (0.5, True, False, "end_of_dialogue")
    assert info["turn_scores"] == [1.0, 0.0]
    assert [m["role"] for m in info["messages"]] == ["user", "assistant"] * 2


def test_multiturn_simulated_user_and_max_turns():
    length = {"type": "length", "params": {"unit": "chars", "max": 100}}
    asked: list[int] = []

    def user(messages: list[dict[str, str]]) -> str | None:
        asked.append(len(messages))
        return "Tell me more."

    env = MultiTurnEnv(turn_reward=length, tasks=ARITHMETIC, user=user, max_turns=3)
    env.reset(seed=0)
    steps = [env.step("Some answer.") for _ in range(3)]
    assert [s[3] for s in steps] == [False, False, True] and steps[-1][4]["stop"] == "max_turns"
    assert asked == [2, 4, 6]


def test_mt_bench_questions_as_dialogues():
    questions = shared_path("data/mt_bench/question.jsonl")
    references = shared_path("data/mt_bench/reference_answer_gpt-4.jsonl")
    source = MTBenchSource(questions, references)
    assert len(source) == 80 and all(len(source[i].turns or []) == 2 for i in range(80))
    with_reference = [source[i] for i in range(80) if source[i].reference is not None]
    assert len(with_reference) == 40  # 30 GPT-4 reference answers + inline ones, 40 in all
    assert next(t for t in with_reference if t.id == "101").reference[0].startswith("If you")
    env = MultiTurnEnv(turn_reward="length_under_512", tasks=source)
    obs, info = env.reset(seed=0)
    assert obs == info["task"]["turns"][0]
    obs, *_ = env.step("A short answer.")
    assert obs == info["task"]["turns"][1]
    assert env.step("Another one.")[4]["stop"] == "end_of_dialogue"


@pytest.mark.slow
def test_remote_mode_gives_the_same_rewards_as_in_process(server: Server):
    local = gym.make("rewardgym/ReasoningGym-v0", task="chain_sum")
    remote = gym.make("rewardgym/ReasoningGym-v0", task="chain_sum", scorer=server.url)
    before = requests_at(server, "inline:reasoning_gym")
    seen = []
    for seed in range(3):
        for answer in ("right", "<answer>-99999</answer>"):
            outcomes = []
            for env in (local, remote):
                obs, _ = env.reset(seed=seed)
                _, reward, _, _, info = env.step(solve(obs) if answer == "right" else answer)
                outcomes.append((reward, info["result"].score, info["result"].metadata))
            assert outcomes[0] == outcomes[1]
            seen.append(outcomes[0][0])
    assert seen == [1.0, 0.0] * 3
    assert requests_at(server, "inline:reasoning_gym") - before == 6  # really remote


@pytest.mark.slow
def test_a_down_or_silent_server_is_a_clear_error_not_a_hang_fault_injection():
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scorer = RemoteScorer(f"http://127.0.0.1:{port}", 1.0, retry_budget_s=1.0)
    env = SingleTurnEnv(tasks=ARITHMETIC, scorer=scorer)
    env.reset(seed=0)
    with pytest.raises(UnavailableError, match="cannot reach"):
        env.step("42")
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held: list[Any] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept())
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    env = SingleTurnEnv(tasks=ARITHMETIC, scorer=RemoteScorer(url, 1.0, retry_budget_s=0))
    env.reset(seed=0)
    started = time.monotonic()
    try:
        with pytest.raises(RequestTimeoutError, match=r"did not answer within 3\.0 s"):
            env.step("42")
    finally:
        stop.set()
        silent.close()
    assert time.monotonic() - started < 10


def test_vector_env_scores_a_batch_with_one_server_call(server: Server):
    venv = BatchedTextEnv(
        env_id="rewardgym/SingleTurn-v0",
        num_envs=8,
        scorer=server.url,
        reward="math",
        tasks=ARITHMETIC,
    )
    obs, infos = venv.reset(seed=0)
    assert len(obs) == 8 and infos["_reference"].all()
    before = requests_at(server, "math")
    actions = [
        f"\\boxed{{{ref}}}" if i % 2 else "\\boxed{0}" for i, ref in enumerate(infos["reference"])
    ]
    obs, rewards, terminated, truncated, infos = venv.step(actions)
    assert requests_at(server, "math") - before == 1  # one call for 8 environments
    assert list(rewards) == [0.0, 1.0] * 4 and terminated.all() and not truncated.any()
    assert len(infos["result"]) == 8
    assert all(r.score is not None for r in infos["result"])
    obs, rewards, terminated, _, infos = venv.step([""] * 8)  # NEXT_STEP autoreset
    assert not terminated.any() and all(o in {r["prompt"] for r in ARITHMETIC} for o in obs)
    assert requests_at(server, "math") - before == 1  # resetting needs no reward call
    venv.close()


@pytest.mark.slow
def test_rollouts_become_rows_groups_and_dpo_pairs():
    env = gym.make("rewardgym/ReasoningGym-v0", task="chain_sum")
    rows = collect(env, lambda prompts: [solve(p) for p in prompts], 4, seed=0, progress=False)
    assert [r["return"] for r in rows] == [1.0] * 4
    assert {type(v) for r in rows for v in r.values()} <= {str, float, list}
    venv = BatchedTextEnv(env_id="rewardgym/SingleTurn-v0", num_envs=4, tasks=ARITHMETIC)
    calls: list[int] = []

    def half_right(prompts: list[str]) -> list[str]:
        calls.append(len(prompts))
        return ["\\boxed{42}" if i % 2 else "\\boxed{41}" for i in range(len(prompts))]

    group = collect(venv, half_right, 4, options={"task": ARITHMETIC[0]}, progress=False)
    assert sorted(r["return"] for r in group) == [0.0, 0.0, 1.0, 1.0] and calls == [4]
    assert to_grpo_groups(group) == {
        "What is 6 * 7?": [(r["completion"], r["return"]) for r in group]
    }
    [pair] = to_dpo_pairs(group)
    assert (pair["chosen"], pair["rejected"]) == ("\\boxed{42}", "\\boxed{41}")
    datasets = pytest.importorskip("datasets")
    from rewardgym.envs.rollout import to_dataset

    table = to_dataset(rows + group)
    assert isinstance(table, datasets.Dataset) and table.num_rows == 8


def test_a_transformers_model_as_the_policy(tiny_judge_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rewardgym.envs.rollout import TransformersPolicy

    model = AutoModelForCausalLM.from_pretrained(tiny_judge_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_judge_dir)
    policy = TransformersPolicy(model, tokenizer, max_new_tokens=8, temperature=0.0)
    venv = BatchedTextEnv(env_id="rewardgym/MultiStep-v0", num_envs=2, max_steps=2)
    rows = collect(venv, policy, 2, seed=0, progress=False)
    assert len(rows) == 2
    for row in rows:
        assert len(row["actions"]) <= 2 and row["stop"] in {"final_answer", "max_steps"}
        assert all(isinstance(a, str) for a in row["actions"])
