"""``rewardgym/SingleTurn-v0``: one prompt, one completion, one reward.

The observation is the prompt, the action the completion; the reward is any named reward (or
inline spec) on (prompt, completion, reference). The episode ends after the one step:
``info["stop"]`` is ``final_answer``, or ``reward_error`` / ``timeout`` when the reward failed
(the reward then follows ``on_error``; the error is in ``info["result"]``).
"""

from __future__ import annotations

from typing import Any

from rewardgym.envs.base import StepReturn, TextEnv, reward_value
from rewardgym.on_error import failure_kind
from rewardgym.schema import Result
from rewardgym.scoring import RewardRef, ScoreJob

__all__ = ["SingleTurnEnv"]


class SingleTurnEnv(TextEnv):
    """Prompt in, completion out, one reward.

    Args:
        reward: a reward name from the config (default ``math``) or an inline spec.
        **kwargs: see ``TextEnv`` (tasks, scorer, config, system_prompt, on_error, ...).
    """

    def __init__(self, reward: RewardRef = "math", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reward = reward

    def begin_step(self, action: str) -> list[ScoreJob]:
        assert self.task is not None
        self.messages.append({"role": "assistant", "content": action})
        return [ScoreJob(self.reward, self.task.answer_item(action))]

    def finish_step(self, results: list[Result]) -> StepReturn:
        [result] = results
        reward = reward_value(result, self.on_error)
        self.rewards.append(reward)
        self.end(failure_kind(result) or "final_answer")
        return "", reward, True, False, self.info(result=result, stop=self.stop)
