"""Replaying a ledger: re-score recorded results with the same reward and flag every result
that changed while its address did not (the reward is not deterministic: a sampling judge,
a race, a time limit hit on one run and not the other)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewardgym.errors import RewardGymError
from rewardgym.evals.rescore import CHANGED, Rollout
from rewardgym.judges.base import Reward
from rewardgym.ledger import address, implementation_digest
from rewardgym.schema import Result, RewardSpec, ScoreRequest
from rewardgym.service import RewardService

__all__ = ["ReplayReport", "replay", "same_result"]


@dataclass
class ReplayReport:
    """How many replayed results matched their record."""

    replayed: int = 0
    same: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    """Same address, another result: each with its address, and old and new score/error."""
    moved: int = 0
    """The reward's implementation changed since (another address): not comparable."""
    unreplayable: dict[str, int] = field(default_factory=dict)
    """Why some could not be replayed (unknown reward, retryable error now), with counts."""


def same_result(old: Result, new: Result) -> bool:
    """Equal scores (within ``CHANGED``) and the same error type, if any."""
    if (old.error is None) != (new.error is None):
        return False
    if old.error is not None and new.error is not None:
        return old.error.type == new.error.type
    if old.score is None or new.score is None:
        return old.score is new.score
    return math.isclose(old.score, new.score, abs_tol=CHANGED)


def _reward_for(service: RewardService, rollout: Rollout) -> Reward:
    """The config's reward of the recorded name; for an inline spec, one rebuilt from the
    recorded implementation (type and params)."""
    assert rollout.entry is not None
    try:
        return service.registry.get(rollout.entry.reward)
    except RewardGymError:
        implementation = rollout.entry.implementation
        spec = RewardSpec(type=implementation["type"], params=implementation["params"])
        return service.registry.resolve(spec)


async def replay(
    service: RewardService,
    rollouts: Sequence[Rollout],
    advance: Callable[[int], object] = lambda n: None,
) -> ReplayReport:
    """Re-score each ledger rollout with its reward (in this process, with ``service``'s
    config) and compare the result with the record where the address is unchanged;
    ``advance(n)`` after each ``n`` replayed (a progress bar)."""
    report = ReplayReport()
    groups: dict[int, tuple[Reward, list[Rollout]]] = {}
    for rollout in rollouts:
        try:
            reward = _reward_for(service, rollout)
        except RewardGymError:
            report.unreplayable["unknown reward"] = report.unreplayable.get("unknown reward", 0) + 1
            continue
        groups.setdefault(id(reward), (reward, []))[1].append(rollout)
    for reward, group in groups.values():
        digest = implementation_digest(reward.implementation())
        ref: str | RewardSpec = reward.spec.name or reward.spec  # named, else inline
        request = ScoreRequest(reward=ref, items=[r.item for r in group])
        results = (await service.score(request)).results
        advance(len(results))
        for rollout, new in zip(group, results, strict=True):
            assert rollout.entry is not None
            report.replayed += 1
            if address(digest, rollout.item) != rollout.entry.address:
                report.moved += 1
            elif new.error is not None and new.error.retryable:
                why = f"{new.error.type} now"
                report.unreplayable[why] = report.unreplayable.get(why, 0) + 1
            elif same_result(rollout.old, new):
                report.same += 1
            else:
                report.changed.append(
                    {
                        "address": rollout.entry.address,
                        "reward": rollout.entry.reward,
                        "old_score": rollout.old.score,
                        "new_score": new.score,
                        "old_error": rollout.old.error.type if rollout.old.error else None,
                        "new_error": new.error.type if new.error else None,
                    }
                )
    return report
