"""``rewardgym/ReasoningGym-v0``: any reasoning-gym task family, checked by its own checker.

``gym.make("rewardgym/ReasoningGym-v0", task="basic_arithmetic")`` generates tasks offline
(100+ families, reproducible from ``seed``) and scores answers with the ``reasoning_gym`` rule
reward, which carries the task in the item's metadata, so the same reward also works on a
server (``scorer="http://..."``).
"""

from __future__ import annotations

from typing import Any

from rewardgym.envs.single_turn import SingleTurnEnv
from rewardgym.envs.tasks import ReasoningGymSource
from rewardgym.judges.rules.reasoning_gym_rule import Extract
from rewardgym.scoring import RewardRef

__all__ = ["DEFAULT_SYSTEM_PROMPT", "ReasoningGymEnv"]

DEFAULT_SYSTEM_PROMPT = (
    "Think step by step, then give your final answer inside <answer></answer> tags."
)


class ReasoningGymEnv(SingleTurnEnv):
    """A reasoning-gym family as a single-turn environment.

    Args:
        task: the family's name (``reasoning_gym.factory.DATASETS`` lists them).
        size: tasks generated; dataset_seed: the generator's seed.
        extract: how the answer is found in the completion (see the ``reasoning_gym`` reward).
        config: the family's own generator settings (difficulty and so on).
        reward: override the checker with another reward.
    """

    def __init__(
        self,
        task: str = "basic_arithmetic",
        *,
        size: int = 1000,
        dataset_seed: int = 0,
        extract: Extract = "auto",
        task_config: dict[str, Any] | None = None,
        reward: RewardRef | None = None,
        system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
        **kwargs: Any,
    ) -> None:
        source = ReasoningGymSource(task, size=size, seed=dataset_seed, **(task_config or {}))
        checker = {"type": "reasoning_gym", "params": {"extract": extract}}
        super().__init__(
            reward=reward if reward is not None else checker,
            tasks=source,
            system_prompt=system_prompt,
            **kwargs,
        )
        self.task_name = task
