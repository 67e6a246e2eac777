"""A pairwise judge for online DPO-style trainers, backed by rewardgym's ``compare``.

TRL removed its judges module in 2026; this keeps its calling convention:
``judge(prompts, completions, shuffle_order=True, return_scores=False)`` with ``completions`` a
list of pairs, returning for each pair the index (0 or 1) of the better completion, or -1 when
the judge failed or could not decide (a tie, or orders that disagree). With
``return_scores=True`` it returns p(first completion better) instead (None on failure). The
rewardgym ``pairwise`` reward already judges both orders, so ``shuffle_order`` is accepted and
needs no extra work. Picklable: the client is made on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardgym.on_error import value_of
from rewardgym.schema import CompareItem, RewardSpec

__all__ = ["PairwiseJudge"]


class PairwiseJudge:
    """Which of two completions is better, from a rewardgym preference reward.

    Args:
        reward: a ``pairwise`` (or ``listwise``) reward name on the server, or an inline spec.
        url: the reward server (HTTP).
        timeout_s: the most one compare call may take.
        retry_budget_s: connection errors and 429/5xx are retried for up to this many seconds.
        api_key: the server's key; default ``$REWARDGYM_API_KEY``.
    """

    def __init__(
        self,
        reward: str | RewardSpec | dict[str, Any],
        url: str,
        *,
        timeout_s: float = 300.0,
        retry_budget_s: float = 300.0,
        api_key: str | None = None,
    ) -> None:
        self.reward = reward
        self.url = url
        self.timeout_s = timeout_s
        self.retry_budget_s = retry_budget_s
        self.api_key = api_key
        self._client: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}

    def judge(
        self,
        prompts: Sequence[str],
        completions: Sequence[Sequence[str]],
        shuffle_order: bool = True,
        return_scores: bool = False,
    ) -> list[int] | list[float | None]:
        if self._client is None:
            from rewardgym.client import RewardClient

            self._client = RewardClient(
                self.url,
                timeout=self.timeout_s,
                retry_budget_s=self.retry_budget_s,
                api_key=self.api_key,
            )
        items = [
            CompareItem(prompt=p, responses=list(pair))
            for p, pair in zip(prompts, completions, strict=True)
        ]
        results = self._client.compare(self.reward, items)
        if return_scores:
            return [value_of(r, "null") for r in results]
        winners: list[int] = []
        for r in results:
            winner = None if r.error is not None else r.metadata.get("winner")
            winners.append(int(winner) if winner in (0, 1) else -1)
        return winners
