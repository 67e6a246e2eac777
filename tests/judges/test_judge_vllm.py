"""The pointwise judge against a real vLLM server (tiny random model: verdicts are random, so
these tests check the mechanics that must hold for any model)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from rewardgym.client import RewardClient
from rewardgym.client.grpc import GrpcRewardClient
from rewardgym.judges.base import ScoreContext
from rewardgym.registry import RewardRegistry
from rewardgym.schema import ErrorType, Item, RewardSpec
from tests.conftest import Server

pytestmark = pytest.mark.slow

ITEMS = [
    Item(
        prompt="What is the capital of France?", response=f"Paris, surely. ({i})", reference="Paris"
    )
    for i in range(4)
]


def spec(url: str, verdict: str, cache: Any = False, **params: Any) -> RewardSpec:
    return RewardSpec.model_validate(
        {
            "type": "pointwise",
            "params": {
                "verdict": verdict,
                "max_tokens": 200,
                "critique_max_chars": 60,
                "backend": {
                    "base_url": url,
                    "model": "tiny-judge",
                    "cache": cache,
                    "timeout_s": 120,
                    "structured_output": "vllm",
                },
                **params,
            },
        }
    )


async def run(s: RewardSpec, items: list[Item] = ITEMS) -> list[Any]:
    reward = RewardRegistry([]).resolve(s)
    try:
        return await reward.score(items, ScoreContext())
    finally:
        await reward.aclose()


async def test_logprob_weighted_scores(vllm_url: str):
    results = await run(spec(vllm_url, "logprobs"))
    assert len(results) == len(ITEMS)
    for r in results:
        assert r.error is None, r.error
        assert 0.0 <= r.score <= 1.0
        probs = r.metadata["probabilities"]
        assert sum(probs.values()) == pytest.approx(1.0)
        assert set(probs) <= {str(s) for s in range(1, 11)}
        assert 1.0 <= r.metadata["raw_score"] <= 10.0
        assert r.metadata["verdict"] in {str(s) for s in range(1, 11)}  # structured choice


async def test_structured_json_verdicts_parse(vllm_url: str):
    results = await run(spec(vllm_url, "json", rubric="additive5"))
    assert len(results) == len(ITEMS)
    for r in results:
        assert r.error is None, r.error
        assert r.metadata["raw_score"] in {0.0, 1.0, 2.0, 3.0, 4.0, 5.0}
        assert r.score == pytest.approx(r.metadata["raw_score"] / 5)
        assert isinstance(r.critique, str) and len(r.critique) <= 60


async def test_reference_guided_needs_a_reference(vllm_url: str):
    s = spec(vllm_url, "logprobs", use_reference=True)
    results = await run(s, [ITEMS[0], Item(prompt="q", response="a")])
    assert results[0].error is None
    assert results[1].error is not None and results[1].error.type == ErrorType.INVALID_INPUT


async def test_cache_hits_skip_the_judge(vllm_url: str, tmp_path: Path):
    s = spec(vllm_url, "logprobs", cache=str(tmp_path / "judge.sqlite"))
    first = await run(s)
    second = await run(s)
    assert len(first) == len(second) == len(ITEMS)
    assert not any(r.cached for r in first) and all(r.cached for r in second)
    assert [r.score for r in first] == [r.score for r in second]


def test_same_judge_over_http_grpc_and_in_process(vllm_url: str, server: Server, tmp_path: Path):
    import asyncio

    s = spec(vllm_url, "logprobs", cache=str(tmp_path / "shared.sqlite"))
    local = asyncio.run(run(s))
    assert len(local) == len(ITEMS)
    items = [i.model_dump(mode="json") for i in ITEMS]
    with (
        RewardClient(server.url, timeout=120) as http,
        GrpcRewardClient(server.grpc_target, timeout=120) as rpc,
    ):
        over_http = http.score(s, items)
        over_grpc = rpc.score(s, items)
    assert [r.score for r in over_http] == [r.score for r in local]
    assert [r.score for r in over_grpc] == [r.score for r in local]
    assert all(r.cached for r in over_http + over_grpc)
    assert httpx.get(f"{server.url}/healthz").status_code == 200


async def test_pairwise_logprobs_both_orders(vllm_url: str):
    from rewardgym.schema import CompareItem

    s = RewardSpec.model_validate(
        {
            "type": "pairwise",
            "params": {
                "verdict": "logprobs",
                "backend": {
                    "base_url": vllm_url,
                    "model": "tiny-judge",
                    "cache": False,
                    "timeout_s": 120,
                    "structured_output": "vllm",
                },
            },
        }
    )
    reward = RewardRegistry([]).resolve(s)
    items = [
        CompareItem(prompt="Capital of France?", responses=["Paris.", f"Lyon {i}."])
        for i in range(3)
    ]
    try:
        results = await reward.compare(items, ScoreContext())
        calls = reward.backend.stats["calls"]
    finally:
        await reward.aclose()
    assert calls == 2 * len(items)  # every item judged in both orders
    assert len(results) == len(items)
    for r in results:
        assert r.error is None, r.error
        p0, p1 = r.preference.probabilities
        assert p0 + p1 + r.metadata["tie_probability"] == pytest.approx(1.0)
        assert sorted(r.preference.ranking) == [0, 1]
        assert isinstance(r.preference.consistent, bool)
        assert 0.0 <= r.score <= 1.0
        for verdict in r.metadata["verdicts"]:
            assert sum(verdict.values()) == pytest.approx(1.0)


def test_eval_judge_end_to_end_on_llmbar(vllm_url: str, tmp_path: Path):
    import json
    import subprocess
    import sys

    from tests.conftest import shared_path

    data = shared_path("data/llmbar/Natural.json")
    config = tmp_path / "judges.yaml"
    config.write_text(
        "rewards:\n  - name: tiny\n    type: pairwise\n    params:\n      verdict: logprobs\n"
        f"      backend: {{base_url: '{vllm_url}', model: tiny-judge, cache: false, "
        "structured_output: vllm, timeout_s: 120}\n"
    )
    out = tmp_path / "report.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardgym",
            "eval",
            "judge",
            "-r",
            "tiny",
            "-d",
            str(data),
            "-c",
            str(config),
            "--limit",
            "4",
            "--report",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(out.read_text())
    assert (
        figures["pairs"] == 4
        and figures["judged"]
        + round(4 * (figures["parse_error_rate"] + figures["other_error_rate"]))
        == 4
    )
    assert figures["judged"] == 4  # logprob verdicts over a choice cannot be unreadable
    assert 0.0 <= figures["accuracy"] <= 1.0
    assert 0.0 <= figures["position_consistency"] <= 1.0
    assert figures["latency_ms_p50"] > 0


def judge(url: str, kind: str, **params: Any) -> RewardSpec:
    backend = {
        "base_url": url,
        "model": "tiny-judge",
        "cache": False,
        "timeout_s": 120,
        "structured_output": "vllm",
    }
    return RewardSpec.model_validate(
        {"type": kind, "params": {"max_tokens": 120, "backend": backend, **params}}
    )


async def test_verifier_probability_of_yes(vllm_url: str):
    results = await run(judge(vllm_url, "verifier"))
    assert len(results) == len(ITEMS)
    for r in results:
        assert r.error is None, r.error
        assert r.score == pytest.approx(r.metadata["probabilities"]["Yes"])
        assert sum(r.metadata["probabilities"].values()) == pytest.approx(1.0)
        assert r.metadata["verdict"] in {"Yes", "No"}  # structured choice


async def test_listwise_structured_scores_in_two_orders(vllm_url: str):
    from rewardgym.schema import CompareItem

    reward = RewardRegistry([]).resolve(judge(vllm_url, "listwise"))
    items = [
        CompareItem(prompt="Name a colour.", responses=["red", "blue", "green", f"{i}"])
        for i in range(2)
    ]
    try:
        results = await reward.compare(items, ScoreContext())
        calls = reward.backend.stats["calls"]
    finally:
        await reward.aclose()
    assert calls == 2 * len(items)  # each group shown in a shuffle and its reverse
    assert len(results) == len(items)
    for r in results:
        assert r.error is None, r.error
        assert set(r.scores) == {"0", "1", "2", "3"}
        assert all(0.0 <= s <= 1.0 for s in r.scores.values())
        assert sorted(r.preference.ranking) == [0, 1, 2, 3]
        assert [len(v) for v in r.metadata["verdicts"]] == [4, 4]
        assert r.metadata["orders"][0] == r.metadata["orders"][1][::-1]


async def test_step_judge_structured_labels(vllm_url: str):
    items = [
        Item(prompt="2 + 3 * 4?", response="3 * 4 = 12\n2 + 12 = 14\nThe answer is 14."),
        Item(prompt="1 + 1?", response="ignored", steps=["1 + 1 = 2", "So 2."]),
    ]
    for r, n in zip(await run(judge(vllm_url, "step", split="lines"), items), [3, 2], strict=True):
        assert r.error is None, r.error
        assert len(r.steps) == n and {s.label for s in r.steps} <= {"correct", "incorrect"}
        wrong = [s.index for s in r.steps if s.label == "incorrect"]
        assert r.metadata["first_error_step"] == (wrong[0] if wrong else -1)
        assert r.score == float(not wrong)


async def test_self_consistency_samples_averaged(vllm_url: str):
    s = judge(vllm_url, "pointwise", verdict="json", samples=3, temperature=1.0)
    s.params["critique_max_chars"] = 40
    reward = RewardRegistry([]).resolve(RewardSpec.model_validate(s.model_dump()))
    try:
        results = await reward.score(ITEMS[:2], ScoreContext())
        calls = reward.backend.stats["calls"]
    finally:
        await reward.aclose()
    assert calls == 3 * 2
    assert len(results) == 2
    for r in results:
        assert r.error is None, r.error
        samples = r.metadata["sample_scores"]
        assert len(samples) + r.metadata["failed_samples"] == 3
        assert r.score == pytest.approx(sum(samples) / len(samples))
        assert r.metadata["spread"] >= 0.0


async def test_the_real_judge_is_audited_beside_its_callers_and_its_results_recorded(
    vllm_url: str, tmp_path: Path
):
    """Canaries, permuted re-judges and shadow checks all reach the real model; the caller's
    results are the judge's own (the same as a judge without audits gives), and the ledger
    holds them (the model named, its server's URL not shown)."""
    from rewardgym.config import Settings
    from rewardgym.schema import ScoreOptions, ScoreRequest
    from rewardgym.service import RewardService

    rubric = {
        "description": "Is the answer right?",
        "scores": {1: "wrong", 2: "partly", 3: "right"},
    }
    judge = spec(vllm_url, "logprobs", rubric=rubric, shadow="exact_match")
    judge = judge.model_copy(update={"name": "judge"})
    registry = RewardRegistry([judge, RewardSpec(name="exact_match", type="string_check")])
    audited = RewardService(registry, Settings(audit_per_minute=600, cache_dir=tmp_path))
    plain = RewardService(
        RewardRegistry([judge, RewardSpec(name="exact_match", type="string_check")]),
        Settings(audit_per_minute=0, cache_dir=tmp_path),
    )
    try:
        found: dict[str, Any] = {}
        for round_ in range(12):
            request = ScoreRequest(
                reward="judge", items=ITEMS[:2], options=ScoreOptions(ledger=round_ == 0)
            )
            mine = await audited.score(request)
            theirs = await plain.score(request.model_copy(update={"options": ScoreOptions()}))
            # (vLLM may batch the audits' requests with these: the same to float noise)
            assert [r.score for r in mine.results] == pytest.approx(
                [r.score for r in theirs.results], abs=1e-3
            )
            if round_ == 0:
                recorded = [(r.address, r.score) for r in mine.results]
            await audited.audits.settle()
            await asyncio.sleep(0.11)  # the budget (10 a second) refills
            found = audited.audits.report().get("judge", {})
        assert found.get("canaries", 0) >= 1
        assert found.get("rejudged", 0) >= 1 and 0 <= found["rejudge_agreement"] <= 1
        assert found.get("shadowed", 0) >= 1 and 0 <= found["shadow_disagreement"] <= 1
        for (address, score), item in zip(recorded, ITEMS, strict=False):
            entry = await audited.lookup(address)  # type: ignore[arg-type]
            assert entry.item == item and entry.result.score == pytest.approx(score)
            assert entry.implementation["backend"]["model"] == "tiny-judge"
            assert vllm_url.split("//")[1] not in json.dumps(entry.implementation)
    finally:
        await audited.aclose()
        await plain.aclose()
