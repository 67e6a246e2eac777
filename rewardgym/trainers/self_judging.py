"""The judging half of self-rewarding DPO: the model's own rubric judge, judging in
process, the preference pairs built from the scores, and how far the judge agrees with an
external reward."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Sequence
from typing import Any

from rewardgym.on_error import value_of
from rewardgym.schema import (
    MAX_DEADLINE_S,
    Item,
    Message,
    Result,
    RewardSpec,
    ScoreOptions,
    ScoreRequest,
)
from rewardgym.trainers.runs import SelfRewardingRun

__all__ = ["agreement", "build_pairs", "mean_score", "score_in_process", "self_judge_spec"]


def self_judge_spec(model_dir: str, run: SelfRewardingRun) -> dict[str, Any]:
    """The additive 5-point rubric judged by ``model_dir`` through the in-process backend."""
    sampled = run.judge_samples > 1 and run.judge_verdict != "logprobs"
    return {
        "type": "pointwise",
        "params": {
            "rubric": "additive5",
            "verdict": run.judge_verdict,
            "backend": {"kind": "transformers", "model": model_dir, "cache": False},
            "samples": run.judge_samples if sampled else 1,
            "temperature": 0.7 if sampled else 0.0,
            "max_tokens": 256,
        },
    }


def build_pairs(
    groups: Sequence[tuple[Any, Sequence[tuple[str, float | None]]]],
    *,
    min_margin: float = 0.0,
    length_control: bool = False,
) -> list[dict[str, Any]]:
    """DPO pairs from ``(prompt, [(response, score), ...])`` groups: the best response against
    the worst, when ``best - worst > min_margin``. Unscored responses (None, NaN) are left out.
    With ``length_control`` the shortest best and the longest worst response are taken, so the
    pairs do not teach "longer is better"."""
    pairs = []
    for index, (prompt, group) in enumerate(groups):
        scored = [(r, s) for r, s in group if s is not None and not math.isnan(s)]
        if len(scored) < 2:
            continue
        high = max(s for _, s in scored)
        low = min(s for _, s in scored)
        if high - low <= min_margin:
            continue
        best = [r for r, s in scored if s == high]
        worst = [r for r, s in scored if s == low]
        chosen = min(best, key=len) if length_control else best[0]
        rejected = max(worst, key=len) if length_control else worst[0]
        pairs.append(
            {
                "group": index,
                "prompt": prompt,
                "chosen": chosen,
                "rejected": rejected,
                "score_chosen": high,
                "score_rejected": low,
            }
        )
    return pairs


def score_in_process(
    spec: dict[str, Any], rows: Sequence[dict[str, Any]], texts: list[str]
) -> list[Any]:
    """Judge ``texts`` (answers to ``rows``' prompts) with ``spec`` in process, with a fresh
    service released afterwards (a new model every time); None for an item that failed."""
    from rewardgym.config import Settings
    from rewardgym.judges.backends.transformers_local import unload_model
    from rewardgym.service import RewardService

    items = [
        Item(prompt=[Message.model_validate(m) for m in row["prompt"]], response=text)
        for row, text in zip(rows, texts, strict=True)
    ]

    async def run() -> list[Result]:
        request = ScoreRequest(
            reward=RewardSpec.model_validate(spec),
            items=items,
            options=ScoreOptions(on_error="null", deadline_s=MAX_DEADLINE_S),
        )
        try:
            async with RewardService.running(Settings()) as service:
                return list((await service.score(request)).results)
        finally:
            unload_model(spec["params"]["backend"]["model"])

    return [value_of(r, "null") for r in asyncio.run(run())]


def mean_score(values: Sequence[Any]) -> float | None:
    """The mean of the values that are numbers (None and NaN left out), or None."""
    kept = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return statistics.fmean(kept) if kept else None


def agreement(
    pairs: list[dict[str, Any]], external: dict[tuple[int, str], float | None]
) -> float | None:
    """Of the pairs whose two responses the external reward tells apart, the fraction where it
    prefers the same response as the judge (``external``: (group, response) -> reward)."""
    decided = agreed = 0
    for p in pairs:
        a = external.get((p["group"], p["chosen"]))
        b = external.get((p["group"], p["rejected"]))
        if a is None or b is None or a == b:
            continue
        decided += 1
        agreed += a > b
    return agreed / decided if decided else None
