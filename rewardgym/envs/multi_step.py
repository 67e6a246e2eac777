"""``rewardgym/MultiStep-v0``: the agent writes its solution one reasoning step per ``step``.

Each step can earn a step-level reward (a step judge, a process reward model, or any reward):
the reward is called on the solution so far with ``item.steps`` = the steps so far, and the
score of the newest step is used (``result.steps[-1].score`` when the reward labels steps,
else ``result.score``). The episode ends when a step matches ``final_pattern`` (terminated,
``final_answer``) or after ``max_steps`` (truncated, ``max_steps``); then the outcome reward
is called on the whole solution.

Shaping (the reward of one ``step``):
    r_t = step_weight * step_score_t                       (every step, if step_reward is set)
        + outcome_weight * outcome_score                   (added on the last step)
With ``step_reward=None`` only the outcome counts (a sparse reward). A failed reward follows
``on_error``, ends the episode as truncated, and ``info["stop"]`` says ``reward_error`` or
``timeout``.

The observation after each step is the solution so far (the prompt came with ``reset``);
``info["messages"]`` holds the user prompt and the partial assistant answer.
"""

from __future__ import annotations

import re
from typing import Any

from rewardgym.envs.base import StepReturn, TextEnv, reward_value
from rewardgym.on_error import failure_kind
from rewardgym.schema import Item, Result
from rewardgym.scoring import RewardRef, ScoreJob

__all__ = ["DEFAULT_FINAL_PATTERN", "MultiStepEnv"]

DEFAULT_FINAL_PATTERN = r"\\boxed\{|</answer>|(?im:^\s*(?:final\s+)?answer\s*:)"


class MultiStepEnv(TextEnv):
    """One reasoning step per action; step-level and outcome rewards.

    Args:
        outcome_reward: scored on the whole solution at the end (default ``math``).
        step_reward: scored after every step (None: outcome only).
        max_steps: steps before the episode is truncated.
        final_pattern: a regex that marks a step as the final answer.
        step_weight, outcome_weight: the shaping weights (see the module docstring).
        joiner: how steps are joined into the solution text.
    """

    def __init__(
        self,
        outcome_reward: RewardRef = "math",
        step_reward: RewardRef | None = None,
        *,
        max_steps: int = 8,
        final_pattern: str = DEFAULT_FINAL_PATTERN,
        step_weight: float = 1.0,
        outcome_weight: float = 1.0,
        joiner: str = "\n\n",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.outcome_reward = outcome_reward
        self.step_reward = step_reward
        self.max_steps = max_steps
        self.final = re.compile(final_pattern)
        self.step_weight = step_weight
        self.outcome_weight = outcome_weight
        self.joiner = joiner
        self.steps: list[str] = []
        self._ending: str | None = None

    def start_episode(self) -> None:
        self.steps = []
        self._ending = None

    def solution(self) -> str:
        return self.joiner.join(self.steps)

    def observation(self) -> str:
        if not self.steps:
            return super().observation()
        return "" if self.done else self.solution()

    def begin_step(self, action: str) -> list[ScoreJob]:
        assert self.task is not None
        self.steps.append(action)
        if self.messages[-1]["role"] == "assistant":
            self.messages[-1]["content"] = self.solution()
        else:
            self.messages.append({"role": "assistant", "content": self.solution()})
        if self.final.search(action):
            self._ending = "final_answer"
        elif len(self.steps) >= self.max_steps:
            self._ending = "max_steps"
        else:
            self._ending = None
        jobs = []
        base = {"prompt": self.task.item_prompt(), "reference": self.task.reference}
        base["metadata"] = self.task.metadata
        if self.step_reward is not None:
            item = Item(**base, response=self.solution(), steps=list(self.steps))
            jobs.append(ScoreJob(self.step_reward, item))
        if self._ending is not None:
            jobs.append(ScoreJob(self.outcome_reward, Item(**base, response=self.solution())))
        return jobs

    def finish_step(self, results: list[Result]) -> StepReturn:
        reward = 0.0
        extra: dict[str, Any] = {"steps": list(self.steps)}
        failed: str | None = None
        rest = list(results)
        if self.step_reward is not None:
            step_result = rest.pop(0)
            extra["step_result"] = step_result
            failed = failure_kind(step_result)
            if failed is None and step_result.steps:
                newest = step_result.steps[-1].score
                score = float(newest) if newest is not None else reward_value(step_result, "null")
            else:
                score = reward_value(step_result, self.on_error)
            reward += self.step_weight * score
        if self._ending is not None:
            outcome = rest.pop(0)
            extra["outcome_result"] = outcome
            failed = failed or failure_kind(outcome)
            reward += self.outcome_weight * reward_value(outcome, self.on_error)
        self.rewards.append(reward)
        terminated = self._ending == "final_answer"
        truncated = False
        if failed is not None:
            self.end(failed)
            truncated = not terminated
        elif self._ending is not None:
            self.end(self._ending)
            truncated = not terminated
        extra["result"] = extra.get("outcome_result", extra.get("step_result"))
        return self.observation(), reward, terminated, truncated, self.info(stop=self.stop, **extra)
