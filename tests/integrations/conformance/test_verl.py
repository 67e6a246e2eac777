"""verl 0.9.1's own reward code against a real server: ``get_custom_reward_fn`` loads
``rewardgym/integrations/verl.py`` from ``reward.custom_reward_function`` (path, name,
reward_kwargs), and verl's reward-loop ``NaiveRewardManager`` (one sample per call) and its
``BatchRewardManager`` (one call per batch) score token ids decoded by a real tokenizer. Each
gives the scores of the plain ``/v1/score`` call on the same items, the same keys on every
sample (a failed one too), and the function pickles (verl ships it to remote reward workers).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server

VERL_PY = Path(__file__).resolve().parents[3] / "rewardgym" / "integrations" / "verl.py"
SAMPLES = [  # prompt, response, ground truth
    ("What is 6 * 7?", "<think>6 * 7 = 42</think><answer>\\boxed{42}</answer>", "42"),
    ("What is 2 + 2?", "\\boxed{5}", "4"),
    ("What is 3 + 3?", "<think>no idea</think><answer>6</answer>", None),  # fails: no reference
    ("What is 1 + 1?", "<think>1 + 1</think><answer>\\boxed{2}</answer>", "2"),
]


def _config(name: str, url: str) -> Any:
    from omegaconf import OmegaConf

    function = {
        "path": str(VERL_PY),
        "name": name,
        "reward_kwargs": {"reward": "math_with_format", "url": url},
    }
    return OmegaConf.create({"reward": {"custom_reward_function": function}})


def _data(tokenizer: Any) -> Any:
    """A verl batch as its rollout leaves it: left-padded prompts, right-padded responses."""
    import numpy as np
    import torch
    from verl import DataProto

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    prompts = [tokenizer(p, add_special_tokens=False)["input_ids"] for p, _, _ in SAMPLES]
    responses = [tokenizer(r, add_special_tokens=False)["input_ids"] for _, r, _ in SAMPLES]
    width_p, width_r = max(map(len, prompts)), max(map(len, responses))
    prompt_ids = torch.tensor([[pad] * (width_p - len(p)) + p for p in prompts])
    response_ids = torch.tensor([r + [pad] * (width_r - len(r)) for r in responses])
    mask = torch.tensor(
        [
            [0] * (width_p - len(p)) + [1] * (len(p) + len(r)) + [0] * (width_r - len(r))
            for p, r in zip(prompts, responses, strict=True)
        ]
    )
    return DataProto.from_dict(
        tensors={
            "prompts": prompt_ids,
            "responses": response_ids,
            "attention_mask": mask,
            "input_ids": torch.cat([prompt_ids, response_ids], dim=1),
        },
        non_tensors={
            "data_source": np.array(["gsm8k"] * len(SAMPLES), dtype=object),
            "reward_model": np.array([{"ground_truth": g} for _, _, g in SAMPLES], dtype=object),
            "extra_info": np.array([{"question": p} for p, _, _ in SAMPLES], dtype=object),
        },
    )


def _plain(server: Server) -> list[dict[str, Any]]:
    items = [{"prompt": p, "response": r, "reference": g} for p, r, g in SAMPLES]
    body = {"reward": "math_with_format", "items": items}
    return httpx.post(f"{server.url}/v1/score", json=body, timeout=60).json()["results"]


def _same(got: dict[str, Any], plain: dict[str, Any]) -> None:
    failed = plain["error"] is not None
    assert got["reward_error"] == float(failed)
    assert got["score"] == (0.0 if failed else plain["score"])
    for key, value in plain["scores"].items():
        assert (math.isnan(got[key]) and value is None) or got[key] == value, (key, got, plain)


@pytest.fixture(scope="module")
def tokenizer(tiny_judge_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_judge_dir)


def test_verl_loads_the_function_from_reward_custom_reward_function_and_it_pickles(
    peers: Path, server: Server
):
    import cloudpickle
    from verl.trainer.ppo.reward import get_custom_reward_fn

    fn = get_custom_reward_fn(_config("compute_score", server.url))
    assert fn is not None
    clone = cloudpickle.loads(cloudpickle.dumps(fn))  # how Ray ships it to reward workers
    _, r, g = SAMPLES[0]
    assert clone(data_source="gsm8k", solution_str=r, ground_truth=g, extra_info={}) == fn(
        data_source="gsm8k", solution_str=r, ground_truth=g, extra_info={}
    )


def test_verl_naive_reward_manager_matches_v1_score(peers: Path, server: Server, tokenizer: Any):
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    from verl.trainer.ppo.reward import get_custom_reward_fn

    config = _config("compute_score", server.url)
    data = _data(tokenizer)

    async def run() -> list[dict[str, Any]]:
        manager = NaiveRewardManager(config, tokenizer, get_custom_reward_fn(config))
        return [await manager.run_single(data[i : i + 1]) for i in range(len(data))]

    outputs = asyncio.run(run())
    keys = {tuple(sorted(o["reward_extra_info"])) for o in outputs}
    assert len(keys) == 1, keys  # verl takes its columns from the first sample
    for out, plain in zip(outputs, _plain(server), strict=True):
        _same(out["reward_extra_info"], plain)
        assert out["reward_score"] == out["reward_extra_info"]["score"]
    assert [o["reward_extra_info"]["reward_error"] for o in outputs] == [0.0, 0.0, 1.0, 0.0]


def test_verl_batch_reward_manager_matches_v1_score(peers: Path, server: Server, tokenizer: Any):
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.workers.reward_manager.batch import BatchRewardManager

    config = _config("compute_score_batch", server.url)
    manager = BatchRewardManager(tokenizer, 0, get_custom_reward_fn(config))
    out = manager(_data(tokenizer), return_dict=True)
    extra = out["reward_extra_info"]
    assert {len(v) for v in extra.values()} == {len(SAMPLES)}  # every column, every sample
    plain = _plain(server)
    for i, expected in enumerate(plain):
        _same({k: v[i] for k, v in extra.items()}, expected)
    rewards = out["reward_tensor"].sum(dim=1).tolist()
    assert rewards == [extra["score"][i] for i in range(len(SAMPLES))]
