"""A TRL reward function whose rewards come from a rewardgym environment.

GRPO generates one completion per prompt; ``EnvReward`` plays it through the environment the
prompt came from and returns the episode's return. Each completion gets its own environment,
reset to the row's task (the ``task`` column that ``env_rows`` writes), so the same task gives
the same start state; every step of every environment in the batch is scored with one reward
call (the two-phase step of ``BatchedTextEnv``).

- Single-turn environments: the completion is the one action.
- Multi-step environments: the completion is split into steps (``split``: ``auto``, ``lines``
  or ``paragraphs``, as the step judge splits) and played one step per action until the
  episode ends; a completion whose steps run out first keeps the rewards it earned (no
  final answer, so no outcome reward).
- Multi-turn environments need a policy in the loop between turns: use ``rollout.collect``.

A failed reward ends that episode; its value is ``on_error`` (None by default: TRL's "not
applicable", left out of the mean), never a silent 0. The error types go to TRL's
``log_extra`` hook and the error rate to ``log_metric`` when the trainer passes them. Like
``RewardFunction`` it pickles: environments and scorers are built on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import gymnasium as gym

import rewardgym.envs  # noqa: F401  (registers the ids)
from rewardgym.envs.base import TextEnv, step_together
from rewardgym.envs.datasets import read_task
from rewardgym.envs.multi_step import MultiStepEnv
from rewardgym.envs.multi_turn import MultiTurnEnv
from rewardgym.judges.steps import split_steps
from rewardgym.on_error import FAILURE_KINDS, as_policy
from rewardgym.schema import Item
from rewardgym.scoring import Scorer, make_scorer

__all__ = ["EnvReward"]

StepSplit = Literal["auto", "lines", "paragraphs"]


def _text(completion: Any) -> str:
    """A completion as text: TRL passes text, or a list of messages for chat datasets."""
    if isinstance(completion, str):
        return completion
    return "".join(str(m.get("content", "")) for m in completion if m.get("role") == "assistant")


class EnvReward:
    """A picklable TRL reward function: each completion played through an environment.

    Args:
        env_id: a registered environment id (``rewardgym/ReasoningGym-v0``, ...).
        env_kwargs: the environment's arguments (its task source must match the dataset's).
        url: a reward server for the environment's rewards; None scores in process.
        on_error: the value of a failed episode (``rewardgym.on_error``): None (TRL leaves it
            out), a number, or ``"raise"``.
        split: how a multi-step environment's completion is cut into steps.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any] | None = None,
        *,
        url: str | None = None,
        config: str | None = None,
        on_error: float | str | None = None,
        split: StepSplit = "auto",
        timeout_s: float = 300.0,
    ) -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.url = url
        self.config = config
        self.on_error = as_policy(on_error)
        self.split = split
        self.timeout_s = timeout_s
        self.__name__ = "rewardgym_env"  # TRL names the reward's metrics after this
        self._scorer: Scorer | None = None
        self._envs: list[TextEnv] = []

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_scorer": None, "_envs": []}

    def envs(self, n: int) -> list[TextEnv]:
        """``n`` environments sharing one scorer (built once, reused across batches)."""
        if self._scorer is None:
            self._scorer = make_scorer(self.url, config=self.config, timeout_s=self.timeout_s)
        while len(self._envs) < n:
            env = gym.make(
                self.env_id, scorer=self._scorer, on_error="null", **self.env_kwargs
            ).unwrapped
            if not isinstance(env, TextEnv):
                raise TypeError(f"{self.env_id} is not a rewardgym text environment")
            if isinstance(env, MultiTurnEnv):
                raise ValueError(
                    f"{self.env_id} is multi-turn: the policy must answer between turns, so "
                    "one completion cannot be scored; use rewardgym.envs.rollout.collect"
                )
            self._envs.append(env)
        return self._envs[:n]

    def actions(self, env: TextEnv, completion: str) -> list[str]:
        """The actions one completion becomes in ``env``."""
        if not isinstance(env, MultiStepEnv):
            return [completion]
        steps = split_steps(Item(prompt="", response=completion), self.split, max_steps=10_000)
        return steps or [completion]

    def play(self, tasks: Sequence[Any], completions: Sequence[Any]) -> list[TextEnv]:
        """Play each completion through its task's environment; returns the environments
        (each holds its episode: ``rewards``, ``stop``, messages)."""
        envs = self.envs(len(completions))
        plans = []
        for env, task, completion in zip(envs, tasks, completions, strict=True):
            env.reset(options={"task": read_task(task)})
            plans.append(self.actions(env, _text(completion)))
        turn = 0
        while True:
            live = [i for i, env in enumerate(envs) if not env.done and turn < len(plans[i])]
            if not live:
                break
            assert self._scorer is not None  # built by envs()
            step_together(
                self._scorer, [(envs[i], plans[i][turn][: envs[i].max_chars]) for i in live]
            )
            turn += 1
        return envs

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        task: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        if task is None:
            raise ValueError(
                "EnvReward needs the dataset's 'task' column (build rows with env_rows)"
            )
        envs = self.play(task, completions)
        values: list[float | None] = []
        stops = []
        for env in envs:
            values.append(env.episode_return(self.on_error))
            stops.append(env.stop or "unfinished")
        self._log(stops, kwargs.get("log_metric"), kwargs.get("log_extra"))
        return values

    def _log(self, stops: list[str], log_metric: Any, log_extra: Any) -> None:
        if log_metric is not None and stops:
            failed = sum(s in FAILURE_KINDS for s in stops)
            log_metric(f"{self.__name__}/error_rate", failed / len(stops))
        if log_extra is not None:
            log_extra(f"{self.__name__}_stop", stops)

    def close(self) -> None:
        if self._scorer is not None:
            self._scorer.close()
        self._scorer = None
        self._envs = []
