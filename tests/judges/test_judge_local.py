"""LLM judges on the in-process transformers backend (a tiny random Qwen2 built here): its
verdicts are random, so these tests check mechanics that hold for any model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rewardgym.judges.backends.base import ChatRequest
from rewardgym.judges.backends.transformers_local import TransformersBackend
from rewardgym.judges.base import ScoreContext
from rewardgym.registry import RewardRegistry
from rewardgym.schema import ErrorType, Item, Result, RewardSpec

ITEMS = [Item(prompt="What is 2 + 2?", response=f"It is {i}.", reference="4") for i in range(6)]


def spec(model: Path, kind: str, cache: Any = False, **params: Any) -> RewardSpec:
    backend = {"kind": "transformers", "model": str(model), "cache": cache, "max_batch_size": 4}
    return RewardSpec.model_validate(
        {"type": kind, "params": {"max_tokens": 24, "backend": backend, **params}}
    )


async def run(s: RewardSpec, items: list[Item] = ITEMS) -> tuple[list[Result], dict[str, int]]:
    reward = RewardRegistry([]).resolve(s)
    try:
        results = await reward.score(items, ScoreContext())
        return results, dict(reward.backend.stats)
    finally:
        await reward.aclose()


async def test_logprob_weighted_score_in_process_batched(tiny_judge_dir: Path):
    results, stats = await run(spec(tiny_judge_dir, "pointwise", verdict="logprobs"))
    assert stats["calls"] == len(ITEMS) and stats["batches"] < len(ITEMS)  # batched together
    assert len(results) == len(ITEMS)
    for r in results:
        assert r.error is None, r.error
        probs = r.metadata["probabilities"]
        assert sum(probs.values()) == pytest.approx(1.0)
        assert 1.0 <= r.metadata["raw_score"] <= 10.0 and 0.0 <= r.score <= 1.0


async def test_verifier_probability_of_yes_in_process(tiny_judge_dir: Path):
    results, _ = await run(spec(tiny_judge_dir, "verifier"))
    assert len(results) == len(ITEMS)
    for r in results:
        assert r.error is None, r.error
        assert r.score == pytest.approx(r.metadata["probabilities"]["Yes"])
        assert r.metadata["verdict"] in {"Yes", "No"}


async def test_generation_returns_text_and_top_logprobs(tiny_judge_dir: Path):
    backend = TransformersBackend(str(tiny_judge_dir), max_batch_size=4)
    request = ChatRequest(messages=(("user", "Say something."),), max_tokens=5, top_logprobs=3)
    try:
        answers = await asyncio.gather(*(backend.chat(request) for _ in range(3)))
    finally:
        await backend.aclose()
    assert len({a.text for a in answers}) == 1  # greedy: the same request, the same answer
    for a in answers:
        assert a.completion_tokens == len(a.logprobs or []) <= 5
        assert all(len(step) == 3 for step in a.logprobs or [])
        assert a.finish_reason in {"stop", "length"} and a.prompt_tokens > 0


async def test_unreadable_text_verdict_is_a_parse_error_not_a_score(tiny_judge_dir: Path):
    results, stats = await run(spec(tiny_judge_dir, "pointwise", verdict="text"), ITEMS[:2])
    assert len(results) == 2
    for r in results:  # a random model writes no "Score: N": asked twice, then an error
        assert r.score is None and r.error is not None
        assert r.error.type == ErrorType.JUDGE_PARSE_ERROR
    assert stats["calls"] == 4


async def test_cache_and_timeouts_in_process(tiny_judge_dir: Path, tmp_path: Path):
    cached = spec(tiny_judge_dir, "verifier", cache=str(tmp_path / "c.sqlite"))
    first, _ = await run(cached)
    second, stats = await run(cached)
    assert len(first) == len(second) == len(ITEMS)
    assert stats["calls"] == 0 and all(r.cached for r in second)
    assert [r.score for r in first] == [r.score for r in second]
    hurried = spec(tiny_judge_dir, "pointwise", verdict="text", max_tokens=400)
    hurried.params["backend"]["timeout_s"] = 0.01
    results, _ = await run(RewardSpec.model_validate(hurried.model_dump()), ITEMS[:2])
    assert len(results) == 2
    assert all(r.error is not None and r.error.type == ErrorType.TIMEOUT for r in results)
