"""Reward types by id: the built-ins and the ``rewardgym.rewards`` entry-point group, each
imported only when first used (as Gymnasium's registry does for environments)."""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from rewardgym.errors import ConfigError, UnknownRewardError

if TYPE_CHECKING:
    from rewardgym.judges.base import Reward

__all__ = ["BUILTIN_TYPES", "ENTRY_POINT_GROUP", "load_type", "reward_types"]

ENTRY_POINT_GROUP = "rewardgym.rewards"

BUILTIN_TYPES: dict[str, str] = {
    "math": "rewardgym.judges.rules.math:MathReward",
    "string_check": "rewardgym.judges.rules.text:StringCheck",
    "format": "rewardgym.judges.rules.format:FormatReward",
    "json": "rewardgym.judges.rules.json_reward:JsonReward",
    "length": "rewardgym.judges.rules.length:LengthReward",
    "repetition": "rewardgym.judges.rules.length:RepetitionReward",
    "text_similarity": "rewardgym.judges.rules.similarity:TextSimilarity",
    "weighted": "rewardgym.judges.compose:Weighted",
    "gate": "rewardgym.judges.compose:Gate",
    "vector": "rewardgym.judges.compose:Vector",
    "formula": "rewardgym.judges.compose:FormulaReward",
    "pointwise": "rewardgym.judges.llm.pointwise:PointwiseJudge",
    "pairwise": "rewardgym.judges.llm.pairwise:PairwiseJudge",
    "reasoning_gym": "rewardgym.judges.rules.reasoning_gym_rule:ReasoningGymReward",
    "verifier": "rewardgym.judges.llm.verifier:VerifierJudge",
    "agent": "rewardgym.judges.llm.agent:AgentJudge",
    "listwise": "rewardgym.judges.llm.listwise:ListwiseJudge",
    "step": "rewardgym.judges.llm.step:StepJudge",
    "code": "rewardgym.judges.rules.code:CodeReward",
    "reward_model": "rewardgym.judges.models.sequence:RewardModel",
    "process_reward_model": "rewardgym.judges.models.prm:ProcessRewardModel",
    "embedding_similarity": "rewardgym.judges.models.embedding:EmbeddingSimilarity",
    "implicit_reward": "rewardgym.judges.models.implicit:ImplicitReward",
}
"""Built-in reward types: id -> ``module:Class``, imported only when first used."""


@cache
def reward_types() -> dict[str, str]:
    """Every known reward type: built-ins plus the ``rewardgym.rewards`` entry-point group."""
    types = dict(BUILTIN_TYPES)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        types.setdefault(ep.name, ep.value)
    return types


@cache
def load_type(type_id: str) -> type[Reward]:
    """Import the class of a reward type."""
    types = reward_types()
    if type_id not in types:
        raise UnknownRewardError(f"unknown reward type {type_id!r}", known_types=sorted(types))
    module, _, attr = types[type_id].partition(":")
    try:
        cls: type[Reward] = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"reward type {type_id!r} cannot be loaded ({types[type_id]}): {exc}"
        ) from exc
    return cls
