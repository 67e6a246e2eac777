"""Trainer integrations against a real server: the TRL reward function (also through TRL's
GRPOTrainer on a tiny local model), OpenRLHF's /get_reward, verl's compute_score."""

from __future__ import annotations

import math
import pickle
import re
from pathlib import Path

import httpx
import pytest

from rewardgym.integrations.trl_judge import PairwiseJudge
from rewardgym.integrations.trl_reward import RewardFunction
from tests.conftest import Server
from tests.judges.test_judge_faults import faulty  # noqa: F401  (the scripted judge server fixture)


def _math_calls(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    found = re.search(r'rewardgym_requests_total\{kind="score",reward="math"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


PROMPTS = ["What is 6 * 7?", "What is 2 + 2?", "Name a prime."]
COMPLETIONS = ["\\boxed{42}", "\\boxed{5}", "\\boxed{7}"]
REFERENCES = ["42", "4", None]


def test_trl_reward_function_remote_pickles_and_maps_errors(server: Server):
    fn = RewardFunction("math", server.url)
    metrics: dict[str, float] = {}
    extra: dict[str, list[str]] = {}
    rewards = fn(
        prompts=PROMPTS,
        completions=COMPLETIONS,
        reference=REFERENCES,
        log_metric=metrics.__setitem__,
        log_extra=extra.__setitem__,
    )
    assert rewards[:2] == [1.0, 0.0] and rewards[2] is None  # no reference: an error, not 0
    assert metrics["rewardgym_math/error_rate"] == pytest.approx(1 / 3)
    assert extra["rewardgym_math_error"][:2] == ["", ""] and extra["rewardgym_math_error"][2]
    clone = pickle.loads(pickle.dumps(fn))
    assert clone(prompts=PROMPTS, completions=COMPLETIONS, reference=REFERENCES) == rewards
    assert (
        RewardFunction("math", server.url, on_error=-1.0)(
            prompts=PROMPTS, completions=COMPLETIONS, reference=REFERENCES
        )[2]
        == -1.0
    )
    assert fn.__name__ == "rewardgym_math"


def test_trl_reward_function_conversational_in_process():
    fn = RewardFunction({"type": "string_check", "params": {"operation": "icontains"}})
    prompts = [[{"role": "user", "content": "Capital of France?"}]] * 2
    completions = [
        [{"role": "assistant", "content": "Paris."}],
        [{"role": "assistant", "content": "Lyon."}],
    ]
    assert fn(prompts=prompts, completions=completions, reference=["paris"] * 2) == [1.0, 0.0]


def test_openrlhf_get_reward_shape(server: Server):
    body = {
        "query": ["Q: 6 * 7?\nA: \\boxed{42}", "Q: 2 + 2?\nA: \\boxed{5}", "Q: ?\nA: \\boxed{1}"],
        "prompts": ["Q: 6 * 7?\nA: ", "Q: 2 + 2?\nA: ", "Q: ?\nA: "],
        "labels": ["42", "4", None],
    }
    answer = httpx.post(f"{server.url}/get_reward", json=body).json()
    assert answer["rewards"] == answer["scores"] == [1.0, 0.0, 0.0]
    assert answer["extra_logs"]["reward_error"] == [0.0, 0.0, 1.0]  # the 0 is flagged
    named = httpx.post(f"{server.url}/get_reward?reward=exact_match", json=body).json()
    assert named["rewards"][:2] == [0.0, 0.0]  # the whole "\\boxed{42}" is not "42"
    bad = httpx.post(f"{server.url}/get_reward", json={**body, "labels": ["42"]})
    assert bad.status_code == 422 and "labels has 1 entries for 3 queries" in bad.text
    unknown = httpx.post(f"{server.url}/get_reward?reward=nope", json=body)
    assert unknown.status_code == 404


def test_verl_compute_score(server: Server, monkeypatch: pytest.MonkeyPatch):
    from rewardgym.integrations.verl import compute_score

    monkeypatch.setenv("REWARDGYM_URL", server.url)
    assert compute_score("gsm8k", "so \\boxed{42}", "42") == {"score": 1.0, "reward_error": 0.0}
    assert compute_score("gsm8k", "so \\boxed{41}", "42")["score"] == 0.0
    failed = compute_score("gsm8k", "so \\boxed{41}", None)
    assert failed["reward_error"] == 1.0 and not math.isnan(failed["score"])
    named = compute_score("x", "42", "42", {"rewardgym_reward": "exact_match"})
    assert named["score"] == 1.0


def test_trl_grpo_trains_a_few_steps_with_the_remote_reward(
    server: Server, tiny_judge_dir: Path, tmp_path: Path
):
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_judge_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_judge_dir)
    data = datasets.Dataset.from_list(
        [{"prompt": f"What is {i} + {i}?", "reference": str(2 * i)} for i in range(8)]
    )
    fn = RewardFunction("math", server.url)
    config = trl.GRPOConfig(
        output_dir=str(tmp_path),
        use_cpu=True,
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
    )
    trainer = trl.GRPOTrainer(
        model=model, reward_funcs=fn, args=config, train_dataset=data, processing_class=tokenizer
    )
    before = _math_calls(server)
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(logged) == 2 and all("rewards/rewardgym_math/mean" in e for e in logged)
    assert _math_calls(server) - before >= 2  # the rewards really came from the server


@pytest.mark.slow
def test_pairwise_judge_adapter_fault_injection(faulty: str, server: Server):  # noqa: F811
    from tests.judges.test_judge_faults import pairwise_spec

    judge = PairwiseJudge(pairwise_spec(faulty, "paris"), server.url)
    prompts = ["Capital of France?"] * 2
    pairs = [["It is Lyon.", "It is Paris."], ["Paris, of course.", "Marseille."]]
    assert judge.judge(prompts, pairs) == [1, 0]  # a consistent judge, both orders
    p_first = judge.judge(prompts, pairs, return_scores=True)
    assert p_first[0] < 0.5 < p_first[1]
    biased = pickle.loads(pickle.dumps(PairwiseJudge(pairwise_spec(faulty, "alwaysA"), server.url)))
    assert biased.judge(prompts, pairs) == [-1, -1]  # always "A": inconsistent, no preference
    broken = PairwiseJudge(pairwise_spec(faulty, "e500"), server.url)
    assert broken.judge(prompts[:1], pairs[:1]) == [-1]
    assert broken.judge(prompts[:1], pairs[:1], return_scores=True) == [None]
