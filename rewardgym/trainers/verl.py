"""verl's ``custom_reward_function``: ``compute_score`` calls a rewardgym server.

In verl's config::

    custom_reward_function:
      path: /path/to/site-packages/rewardgym/trainers/verl.py
      name: compute_score

The server is ``$REWARDGYM_URL`` (default ``http://127.0.0.1:8000``) and the reward
``extra_info["rewardgym_reward"]``, else ``$REWARDGYM_REWARD``, else ``math``. It returns a
dict, which verl logs column by column: ``score`` (``$REWARDGYM_ON_ERROR``, default 0.0, for a
failed item) and ``reward_error`` (1.0 when the item failed), plus the reward's components.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from rewardgym.client import RewardClient

__all__ = ["compute_score"]


@cache
def _client(url: str) -> RewardClient:
    return RewardClient(url, timeout=float(os.environ.get("REWARDGYM_TIMEOUT_S", "120")))


def compute_score(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None
) -> dict[str, float]:
    """One verl sample's reward from the rewardgym server."""
    extra = extra_info or {}
    url = os.environ.get("REWARDGYM_URL", "http://127.0.0.1:8000")
    reward = extra.get("rewardgym_reward") or os.environ.get("REWARDGYM_REWARD", "math")
    item = {
        "prompt": str(extra.get("question", "")),
        "response": solution_str,
        "reference": ground_truth,
        "metadata": {"data_source": data_source},
    }
    [result] = _client(url).score(reward, [item])
    score = result.score if result.error is None else None
    failed = score is None
    fallback = float(os.environ.get("REWARDGYM_ON_ERROR", "0.0"))
    out = {"score": fallback if score is None else float(score), "reward_error": float(failed)}
    out.update({k: float(v) for k, v in result.scores.items() if v is not None})
    return out
