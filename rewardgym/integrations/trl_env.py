"""rewardgym environments in TRL's own slot: ``GRPOTrainer(environment_factory=...)``.

TRL makes one environment per rollout with a zero-argument factory, calls ``reset(**row)``
before generation, offers the environment's public methods to the model as tools, and reads
``get_reward()`` once the rollout is over. ``environment_factory(env_id, **env_kwargs)``
returns such a factory (it pickles: TRL's asynchronous trainer sends it to workers); each
instance wraps one rewardgym environment, with rewards in process or from a server (``url``).

The tools follow the kind of environment, one per kind of action:

- single-turn (``SingleTurn``, ``ReasoningGym``): ``submit(answer)``;
- multi-step (``MultiStep``): ``add_step(text)`` for a reasoning step, ``submit(answer)`` for the
  final answer (sent as ``Final answer: ...``, which ends the episode);
- multi-turn (``MultiTurn``): ``reply(message)``, answered by the environment's next user turn;
- tool use (``ToolUse``): each built-in tool, ``calculator(expression)``, ``python(code)``,
  ``search(query)``, then ``submit(answer)`` (a tool the episode lacks answers with an error).

Each returns the environment's next observation as text; a call after the episode ended
raises ``ValueError`` saying so. ``get_reward()`` is the episode's return (the sum of its step
rewards); an episode the model never acted in earns 0.0 (it did not attempt the task); a
failed reward follows ``on_error`` (None: TRL leaves the rollout out of the mean; a number;
or ``"raise"``), never a silent 0. Reward components, step scores, stop reasons and
critiques reach TRL's logs through ``EpisodeLog``: a reward function to pass with weight 0,
which reads the finished environments (TRL calls ``get_reward`` without its logging hooks).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

import rewardgym.envs  # registers the ids
from rewardgym.envs.base import StepReturn, TextEnv
from rewardgym.envs.datasets import read_task
from rewardgym.envs.multi_step import MultiStepEnv
from rewardgym.envs.multi_turn import MultiTurnEnv
from rewardgym.envs.tool_use import ToolUseEnv
from rewardgym.on_error import FAILURE_KINDS, as_policy
from rewardgym.schema import OnError, Result
from rewardgym.scoring import make_scorer

__all__ = [
    "DialogueEnvironment",
    "EnvironmentFactory",
    "EpisodeLog",
    "StepsEnvironment",
    "SubmitEnvironment",
    "ToolsEnvironment",
    "environment_factory",
]

FINAL_ANSWER = "Final answer: {answer}"


class _Episode:
    """The machinery the tool classes share; every name here is private to TRL (``_``)."""

    def __init__(self, env: TextEnv, on_error: OnError) -> None:
        self._env = env
        self._on_error = on_error
        self._tool_calls = 0  # this episode's
        self._tool_calls_total = 0  # every episode's, for the trainer's logs
        self._resets = 0
        self._results: list[Result] = []

    def reset(self, **row: Any) -> str | None:
        """Start the episode of this dataset row (the same row, the same start state).

        The row's ``task`` column (``env_rows`` writes it) or the row itself is the task.
        Returns None when the row's ``prompt`` already shows the task, else the task's text.
        """
        observation, _ = self._env.reset(options={"task": read_task(row.get("task", row))})
        self._tool_calls = 0
        self._resets += 1
        self._results = []
        return None if row.get("prompt") else observation

    def get_reward(self) -> float | None:
        """The episode's return; a failed reward follows ``on_error``."""
        return self._env.episode_return(self._on_error)

    def _act(self, action: str) -> str:
        env = self._env
        if env.task is None:
            raise ValueError("no episode yet: TRL calls reset(**row) before the first tool call")
        if env.done:
            raise ValueError(f"the episode is over ({env.stop}); no more actions are taken in it")
        self._tool_calls += 1
        self._tool_calls_total += 1
        returned: StepReturn = env.step(action[: env.max_chars])
        observation, _reward, _terminated, _truncated, info = returned
        result = info.get("result")
        if isinstance(result, Result):
            self._results.append(result)
        if env.done:
            return f"The episode is over ({env.stop})."
        return observation


class SubmitEnvironment(_Episode):
    """A single-turn task: one answer."""

    def submit(self, answer: str) -> str:
        """Submit your final answer to the task. The episode ends with it.

        Args:
            answer: The final answer, as the task asks for it.
        """
        return self._act(answer)


class StepsEnvironment(_Episode):
    """A multi-step task: reasoning steps, then the final answer."""

    def add_step(self, text: str) -> str:
        """Add one step of your reasoning; returns your solution so far.

        Args:
            text: One reasoning step (a sentence, a calculation).
        """
        return self._act(text)

    def submit(self, answer: str) -> str:
        """Submit your final answer. The episode ends with it.

        Args:
            answer: The final answer, as the task asks for it.
        """
        return self._act(FINAL_ANSWER.format(answer=answer))


class DialogueEnvironment(_Episode):
    """A dialogue: each reply is scored; the user answers until the dialogue ends."""

    def reply(self, message: str) -> str:
        """Send your reply to the user; returns the user's next message.

        Args:
            message: Your whole reply for this turn.
        """
        return self._act(message)


class ToolsEnvironment(_Episode):
    """An agent task: tools, then the final answer."""

    def _call(self, name: str, **arguments: str) -> str:
        return self._act(
            f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"
        )

    def calculator(self, expression: str) -> str:
        """Evaluate an arithmetic expression (numbers, + - * / ** %, sqrt, log, pi...).

        Args:
            expression: The expression, e.g. "1234 * 5678".
        """
        return self._call("calculator", expression=expression)

    def python(self, code: str) -> str:
        """Run Python code in a sandbox; what it prints comes back. Variables persist.

        Args:
            code: The Python code to run.
        """
        return self._call("python", code=code)

    def search(self, query: str) -> str:
        """Search the task's document collection; the best passages come back.

        Args:
            query: What to look for.
        """
        return self._call("search", query=query)

    def submit(self, answer: str) -> str:
        """Submit your final answer. The episode ends with it.

        Args:
            answer: The final answer, as the task asks for it.
        """
        # an answer is never a tool call: the episode ends here, whatever it contains
        return self._act(answer.replace("<tool_call>", "<tool-call>"))


class EnvironmentFactory:
    """A picklable zero-argument callable: each call, a new TRL environment over ``env_id``.

    Args:
        env_id: a registered rewardgym environment id.
        env_kwargs: its arguments (tasks, rewards, limits).
        url: a reward server for the rewards; None scores in process.
        config: the reward config for in-process scoring.
        on_error: the return of an episode whose reward failed (None, a number, ``"raise"``).
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any] | None = None,
        *,
        url: str | None = None,
        config: str | None = None,
        on_error: float | str | None = None,
        timeout_s: float = 300.0,
    ) -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        if self.env_kwargs.get("mcp"):  # TRL offers a class's fixed methods as the tools
            raise ValueError(
                "MCP tools cannot be offered through TRL's environment_factory (its tools are "
                "the class's methods: calculator, python, search, submit); use them in a "
                "Gymnasium loop or over OpenEnv"
            )
        self.url = url
        self.config = config
        self.on_error = as_policy(on_error)  # a clear error now, not mid-training
        self.timeout_s = timeout_s
        self.tool_class = type(self._make())  # fails here, clearly, for an unknown id

    def __call__(self) -> _Episode:
        return self._make()

    def _make(self) -> _Episode:
        if self.env_id not in gym.registry or not self.env_id.startswith("rewardgym/"):
            known = ", ".join(sorted(rewardgym.envs.ENV_IDS))
            raise ValueError(f"unknown environment {self.env_id!r}; registered: {known}")
        # in-process scorers share one RewardService per config and process (LocalScorer)
        scorer = make_scorer(self.url, config=self.config, timeout_s=self.timeout_s)
        env = gym.make(
            self.env_id, scorer=scorer, on_error="null", disable_env_checker=True, **self.env_kwargs
        ).unwrapped
        if not isinstance(env, TextEnv):
            raise TypeError(f"{self.env_id} is not a rewardgym text environment")
        if isinstance(env, MultiTurnEnv):
            return DialogueEnvironment(env, self.on_error)
        if isinstance(env, ToolUseEnv):
            return ToolsEnvironment(env, self.on_error)
        if isinstance(env, MultiStepEnv):
            if not env.final.search(FINAL_ANSWER.format(answer="x")):
                raise ValueError(
                    f"{self.env_id}: submit() sends {FINAL_ANSWER!r}, which final_pattern "
                    f"{env.final.pattern!r} does not match; keep the default pattern or one "
                    "that matches it"
                )
            return StepsEnvironment(env, self.on_error)
        return SubmitEnvironment(env, self.on_error)

    def __repr__(self) -> str:
        return f"environment_factory({self.env_id!r}, tools={self.tool_class.__name__})"


def environment_factory(
    env_id: str,
    *,
    url: str | None = None,
    config: str | None = None,
    on_error: float | str | None = None,
    timeout_s: float = 300.0,
    **env_kwargs: Any,
) -> EnvironmentFactory:
    """``GRPOTrainer(environment_factory=environment_factory("rewardgym/MultiStep-v0"))``."""
    return EnvironmentFactory(
        env_id, env_kwargs, url=url, config=config, on_error=on_error, timeout_s=timeout_s
    )


class EpisodeLog:
    """A TRL reward function (give it weight 0) that logs each batch's finished episodes:
    ``log_metric`` gets the mean tool calls, error rate, step-score mean and the mean of each
    reward component; ``log_extra`` gets the stop reason and the last critique of each."""

    __name__ = "rewardgym_episode"

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        environments: Sequence[Any] | None = None,
        log_metric: Any = None,
        log_extra: Any = None,
        **kwargs: Any,
    ) -> list[float | None]:
        episodes = [e for e in environments or () if isinstance(e, _Episode)]
        if log_metric is not None and episodes:
            log_metric("rewardgym/tool_calls", statistics.fmean(e._tool_calls for e in episodes))
            failed_episodes = sum(e._env.stop in FAILURE_KINDS for e in episodes)
            log_metric("rewardgym/error_rate", failed_episodes / len(episodes))
            components: dict[str, list[float]] = {}
            step_scores: list[float] = []
            for episode in episodes:
                for result in episode._results:
                    for name, value in result.scores.items():
                        if value is not None:
                            components.setdefault(name, []).append(value)
                    for step in result.steps or ():
                        if step.score is not None:
                            step_scores.append(step.score)
            for name, values in sorted(components.items()):
                log_metric(f"rewardgym/{name}", statistics.fmean(values))
            if step_scores:
                log_metric("rewardgym/step_score", statistics.fmean(step_scores))
        if log_extra is not None and episodes:
            log_extra("rewardgym_stop", [e._env.stop or "no_action" for e in episodes])
            log_extra(
                "rewardgym_critique",
                [
                    next((r.critique for r in reversed(e._results) if r.critique), "")
                    for e in episodes
                ],
            )
        return [None] * len(completions)
