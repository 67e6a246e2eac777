"""verl's custom reward function: ``compute_score`` (one sample, verl's naive and reward-loop
managers) and ``compute_score_batch`` (verl's ``batch`` reward manager), both calling a
rewardgym server. Matched to verl 0.9.1 (``verl/trainer/ppo/reward.py:get_custom_reward_fn``,
``verl/experimental/reward_loop/reward_manager/naive.py``, ``verl/workers/reward_manager/
batch.py``). In verl's config (the key is ``reward.custom_reward_function``; a top-level
``custom_reward_function`` is not read by verl's PPO entry point)::

    reward:
      custom_reward_function:
        path: <site-packages>/rewardgym/integrations/verl.py
        name: compute_score          # or compute_score_batch with reward_manager.name=batch
        reward_kwargs: {reward: math_with_format, url: "http://127.0.0.1:8000"}

The reward is ``reward_kwargs.reward``, else ``extra_info["rewardgym_reward"]``, else
``$REWARDGYM_REWARD``, else ``math``; the server ``reward_kwargs.url``, else ``$REWARDGYM_URL``
(default ``http://127.0.0.1:8000``); the key ``$REWARDGYM_API_KEY``. Connection errors and
429/5xx are retried for up to ``$REWARDGYM_RETRY_BUDGET_S`` (300) seconds, so a server restart
does not end the run. Each sample gives a dict with the same keys every time (verl takes its
columns from the first sample): ``score`` (``$REWARDGYM_ON_ERROR``, default 0.0, for a failed
item), ``reward_error`` (1.0 when it failed) and the reward's components (NaN when failed).
It holds no client (they are made per process on first use), so verl can pickle it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rewardgym.client import RewardClient, shared_client
from rewardgym.config import ClientSettings, client_settings
from rewardgym.on_error import failed, value_of
from rewardgym.schema import Result

__all__ = ["compute_score", "compute_score_batch"]


def _client(url: str | None, settings: ClientSettings) -> RewardClient:
    return shared_client(
        url or settings.url, timeout=settings.timeout_s, retry_budget_s=settings.retry_budget_s
    )


def _item(data_source: Any, solution: str, ground_truth: Any, extra: dict[str, Any]) -> Any:
    return {
        "prompt": str(extra.get("question", "") or ""),
        "response": solution,
        "reference": ground_truth,
        "metadata": {"data_source": str(data_source)},
    }


def _row(result: Result, on_error: float) -> dict[str, float]:
    score = value_of(result, on_error, missing=math.nan)  # a number always
    out = {"score": score, "reward_error": float(failed(result))}
    for key, value in result.scores.items():  # every component, NaN when it failed
        out[key] = math.nan if value is None else float(value)
    return out


def _reward(reward: str | None, extra: dict[str, Any], settings: ClientSettings) -> str:
    return reward or extra.get("rewardgym_reward") or settings.reward


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    *,
    reward: str | None = None,
    url: str | None = None,
    **_verl_kwargs: Any,
) -> dict[str, float]:
    """One verl sample's reward. ``reward``/``url`` come from ``reward_kwargs``; verl's other
    keyword arguments (``reward_router_address``, ...) are accepted and not used."""
    settings = client_settings()  # the environment, read once per call
    extra = extra_info or {}
    item = _item(data_source, solution_str, ground_truth, extra)
    name = _reward(reward, extra, settings)
    [result] = _client(url, settings).score(name, [item], on_error="null")
    return _row(result, settings.on_error)


def compute_score_batch(
    data_sources: Sequence[Any],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    *,
    reward: str | None = None,
    url: str | None = None,
    **_verl_kwargs: Any,
) -> list[dict[str, float]]:
    """A verl batch's rewards in one call per reward name (verl's ``batch`` manager)."""
    settings = client_settings()  # the environment, read once per call
    given = [None] * len(solution_strs) if extra_infos is None else list(extra_infos)
    extras = [e or {} for e in given]  # verl passes numpy object arrays, not lists
    by_reward: dict[str, list[int]] = {}
    for i, extra in enumerate(extras):
        by_reward.setdefault(_reward(reward, extra, settings), []).append(i)
    out: list[dict[str, float]] = [{} for _ in solution_strs]
    for name, indices in by_reward.items():
        items = [
            _item(data_sources[i], solution_strs[i], ground_truths[i], extras[i]) for i in indices
        ]
        results = _client(url, settings).score(name, items, on_error="null")
        for i, result in zip(indices, results, strict=True):
            out[i] = _row(result, settings.on_error)
    return out
