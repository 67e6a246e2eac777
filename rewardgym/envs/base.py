"""What every rewardgym environment shares: tasks, text spaces, reset, scoring, render.

A step has two halves so that a batched (vector) environment can score every sub-environment's
action with one reward call: ``begin_step(action)`` records the action and returns the items to
score (``ScoreJob``s); ``finish_step(results)`` turns the results into the step's return.
``step`` is just the two halves around one call to the scorer.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
from gymnasium.error import ResetNeeded

from rewardgym.envs.spaces import DEFAULT_MAX_CHARS, text_space
from rewardgym.envs.tasks import Task, TaskSource, as_source
from rewardgym.judges.tools.threads import in_tool_thread
from rewardgym.on_error import FAILURE_KINDS, as_policy, failed, value_of
from rewardgym.schema import Error, ErrorType, OnError, Result
from rewardgym.scoring import (
    AsyncScorer,
    ScoreJob,
    Scorer,
    make_scorer,
    score_jobs,
    score_jobs_async,
)

__all__ = ["StepReturn", "TextEnv", "reward_value", "step_together"]

StepReturn = tuple[str, SupportsFloat, bool, bool, dict[str, Any]]


def reward_value(result: Result, on_error: OnError) -> float:
    """An item's reward as a Gymnasium reward (a float): ``on_error.value_of``, with NaN for
    no reward."""
    return value_of(result, on_error, missing=math.nan)


class TextEnv(gym.Env[str, str]):
    """Base of the text environments.

    Args:
        tasks: a task source, a list of rows, a JSONL path, ``"rg:NAME"`` for a reasoning-gym
            family, or None for reasoning-gym's ``basic_arithmetic``.
        scorer: None (score in process through ``RewardService``), a server URL, or a Scorer.
        config: the reward config YAML for in-process scoring (default: the built-in one).
        system_prompt: a system message put before the task in ``info["messages"]``.
        on_error: the reward of a failed item (``rewardgym.on_error``): ``"null"`` (default:
            NaN), a number, or ``"raise"`` (``ItemFailedError``); the error itself is always
            in ``info["result"]``.
        max_chars: the longest observation or action, in characters.
        timeout_s: the most one reward call may take.
    """

    metadata = {"render_modes": ["ansi", "human"]}  # noqa: RUF012 (gymnasium's attribute)
    blocking_steps: ClassVar[bool] = False
    """``begin_step`` does blocking work (runs tools): async callers run it in a thread."""

    def __init__(
        self,
        *,
        tasks: TaskSource | list[Mapping[str, Any]] | str | None = None,
        scorer: Scorer | str | None = None,
        config: str | None = None,
        system_prompt: str | None = None,
        on_error: OnError | str | None = "null",
        max_chars: int = DEFAULT_MAX_CHARS,
        timeout_s: float = 300.0,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r}; allowed: ansi, human, None")
        self.source = as_source(tasks)
        self.scorer = make_scorer(scorer, config=config, timeout_s=timeout_s)
        self.system_prompt = system_prompt
        self.on_error: OnError = as_policy(on_error)
        self.render_mode = render_mode
        self.max_chars = max_chars
        self.observation_space = text_space(max_chars)
        self.action_space = text_space(max_chars)
        self.task: Task | None = None
        self.messages: list[dict[str, str]] = []
        self.rewards: list[float] = []
        self.done = True
        self.stop: str | None = None
        self.failure: Result | None = None  # the episode's first failed result

    # -- reset ------------------------------------------------------------------------------

    def pick_task(self, options: Mapping[str, Any] | None) -> Task:
        """The task for this episode: ``options["task"]`` (a row), ``options["index"]``, or
        one drawn with the environment's seeded generator."""
        options = options or {}
        if "task" in options:
            row = options["task"]
            return row if isinstance(row, Task) else Task.from_row(row)
        if "index" in options:
            return self.source[int(options["index"]) % len(self.source)]
        return self.source[int(self.np_random.integers(len(self.source)))]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        self.task = self.pick_task(options)
        prompt = self.task.prompt
        self.messages = []
        if self.system_prompt:
            self.messages.append({"role": "system", "content": self.system_prompt})
        if isinstance(prompt, str):
            self.messages.append({"role": "user", "content": prompt})
        else:
            self.messages.extend(dict(m) for m in prompt)
        self.rewards = []
        self.done = False
        self.stop = None
        self.failure = None
        self.start_episode()
        observation = self.observation()
        if not self.observation_space.contains(observation):
            raise ValueError(
                f"the task's prompt has {len(observation)} characters; this environment "
                f"takes at most {self.max_chars} (raise max_chars)"
            )
        return observation, self.info()

    def start_episode(self) -> None:
        """Hook: per-episode state of a subclass."""

    def observation(self) -> str:
        """What the policy sees now: by default the newest user message."""
        users = [m["content"] for m in self.messages if m["role"] == "user"]
        return users[-1] if users and not self.done else ""

    def info(self, **extra: Any) -> dict[str, Any]:
        """Task, reference and messages, plus ``extra``. Results lose their ``latency_ms``
        here: timing would make two equal steps differ (gymnasium's determinism check)."""
        assert self.task is not None
        for key, value in extra.items():
            if isinstance(value, Result):
                extra[key] = value.model_copy(update={"latency_ms": 0.0})
        info = {
            "task": self.task.as_row(),
            "reference": self.task.reference,
            "messages": self.messages,
            **extra,
        }
        return copy.deepcopy(info)  # new objects every call: callers keep and modify them

    # -- step -------------------------------------------------------------------------------

    def check_action(self, action: Any) -> str:
        if self.done:
            raise ResetNeeded(
                f"step() after the episode ended (stop={self.stop!r}); call reset() first"
            )
        if not isinstance(action, str):
            raise TypeError(f"an action is text (str); got {type(action).__name__}")
        if len(action) > self.max_chars:
            raise ValueError(
                f"the action has {len(action)} characters; at most "
                f"{self.max_chars} are allowed (raise max_chars)"
            )
        return action

    def begin_step(self, action: str) -> list[ScoreJob]:
        """Record the action; return the items to score (subclasses)."""
        raise NotImplementedError

    def finish_step(self, results: list[Result]) -> StepReturn:
        """Turn the scored items into (observation, reward, terminated, truncated, info)."""
        raise NotImplementedError

    def step(self, action: str) -> StepReturn:
        jobs = self.begin_step(self.check_action(action))
        returned = self.finish_scored(score_jobs(self.scorer, jobs))
        if self.render_mode == "human":
            self.render()
        return returned

    async def step_async(self, action: str, scorer: AsyncScorer) -> StepReturn:
        """``step`` with its items scored by ``scorer`` on the caller's event loop (no thread
        hop: the OpenEnv server's path). The environment's own scorer is not used. An
        environment whose steps do blocking work (``blocking_steps``: tools) does it in a
        thread, so other sessions on the loop go on."""
        action = self.check_action(action)
        if self.blocking_steps:
            jobs = await in_tool_thread(self.begin_step, action)
        else:
            jobs = self.begin_step(action)
        returned = self.finish_scored(await score_jobs_async(scorer, jobs))
        if self.render_mode == "human":
            self.render()
        return returned

    def finish_scored(self, results: list[Result]) -> StepReturn:
        """``finish_step``, keeping the first failed result of the episode (its error is what
        ``on_error: raise`` reports)."""
        if self.failure is None:
            self.failure = next((r for r in results if failed(r)), None)
        return self.finish_step(results)

    def end(self, stop: str) -> None:
        self.done = True
        self.stop = stop

    def episode_return(self, on_error: OnError | str | float | None) -> float | None:
        """The episode's return: the sum of its rewards; when a reward failed, what
        ``on_error`` gives instead (None for ``"null"``, a number, or ``ItemFailedError``)."""
        total = math.fsum(self.rewards)
        if self.stop not in FAILURE_KINDS and not math.isnan(total):
            return total
        failure = self.failure or Result(
            error=Error(
                type=ErrorType.INTERNAL, message=f"the episode's reward failed ({self.stop})"
            )
        )
        return value_of(failure, on_error)

    # -- render -----------------------------------------------------------------------------

    def render(self) -> str | None:
        """The dialogue so far as readable text (``ansi`` returns it, ``human`` prints it)."""
        lines = []
        for m in self.messages:
            lines.append(f"[{m['role']}]\n{m['content']}")
        if self.rewards:
            lines.append("[rewards] " + ", ".join(f"{r:.3f}" for r in self.rewards))
        if self.stop:
            lines.append(f"[stop] {self.stop}")
        text = "\n\n".join(lines)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        self.scorer.close()


def step_together(scorer: Scorer, moves: Sequence[tuple[TextEnv, str]]) -> list[StepReturn]:
    """Each environment takes its action; every item they need scored goes to ``scorer`` in
    one call per reward, and each environment finishes its step with its own results."""
    jobs: list[ScoreJob] = []
    owners: list[int] = []
    for i, (env, action) in enumerate(moves):
        for job in env.begin_step(action):
            jobs.append(job)
            owners.append(i)
    results = score_jobs(scorer, jobs) if jobs else []
    return [
        env.finish_scored([r for r, owner in zip(results, owners, strict=True) if owner == i])
        for i, (env, _) in enumerate(moves)
    ]
