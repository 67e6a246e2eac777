"""``rewardgym/MultiTurn-v0``: a dialogue; a reward (usually a judge) scores each assistant turn.

The environment plays the user: the next user turn comes from the task's script (``turns``,
MT-Bench style), from ``followups`` when the task has no script, or from ``user`` (a simulated
user: any callable from the messages so far to the next user message, or None to end). Each
assistant turn is scored with ``turn_reward`` on (dialogue so far, this turn, the turn's
reference: ``reference[k]`` when the reference is a list with one entry per turn).

Rewards (``reward_mode``): ``per_turn`` gives each turn its own score; ``final`` gives 0 until
the last turn, which gets the aggregate (``aggregate``: mean, min or last) of all turn scores.
The episode ends when the script or the simulated user has nothing more to say (terminated,
``end_of_dialogue``) or after ``max_turns`` assistant turns (truncated, ``max_turns``). A failed
reward follows ``on_error``, truncates the episode, and ``info["stop"]`` says why.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any, Literal

from rewardgym.envs.base import StepReturn, TextEnv, reward_value
from rewardgym.on_error import failure_kind
from rewardgym.schema import Item, Message, Result
from rewardgym.scoring import RewardRef, ScoreJob

__all__ = ["DEFAULT_FOLLOWUPS", "MultiTurnEnv", "SimulatedUser"]

SimulatedUser = Callable[[list[dict[str, str]]], str | None]
DEFAULT_FOLLOWUPS = ("Check your answer once more and state the final answer again.",)


class MultiTurnEnv(TextEnv):
    """A scripted or simulated user; every assistant turn scored.

    Args:
        turn_reward: scores each assistant turn (default ``math``, against the reference).
        user: a simulated user (messages -> next user message or None); default: the script.
        followups: user turns after the first when a task has no ``turns`` script.
        max_turns: assistant turns before the episode is truncated.
        reward_mode: ``per_turn`` or ``final``; aggregate: ``mean``, ``min`` or ``last``.
    """

    def __init__(
        self,
        turn_reward: RewardRef = "math",
        *,
        user: SimulatedUser | None = None,
        followups: Sequence[str] = DEFAULT_FOLLOWUPS,
        max_turns: int = 8,
        reward_mode: Literal["per_turn", "final"] = "per_turn",
        aggregate: Literal["mean", "min", "last"] = "mean",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if reward_mode not in ("per_turn", "final") or aggregate not in ("mean", "min", "last"):
            raise ValueError("reward_mode: per_turn | final; aggregate: mean | min | last")
        self.turn_reward = turn_reward
        self.user = user
        self.followups = list(followups)
        self.max_turns = max_turns
        self.reward_mode = reward_mode
        self.aggregate = aggregate
        self.turn_scores: list[float] = []

    def start_episode(self) -> None:
        self.turn_scores = []

    @property
    def turn(self) -> int:
        """Assistant turns so far."""
        return sum(m["role"] == "assistant" for m in self.messages)

    def _reference(self, turn: int) -> Any:
        assert self.task is not None
        ref = self.task.reference
        script = self.task.turns or []
        if isinstance(ref, list) and len(ref) == len(script) and script:
            return ref[turn] if turn < len(ref) else None
        return ref

    def _next_user_turn(self) -> str | None:
        assert self.task is not None
        if self.user is not None:
            return self.user([dict(m) for m in self.messages])
        script = self.task.turns or [self.observation_text(), *self.followups]
        turn = self.turn
        return script[turn] if turn < len(script) else None

    def observation_text(self) -> str:
        users = [m["content"] for m in self.messages if m["role"] == "user"]
        return users[0] if users else ""

    def begin_step(self, action: str) -> list[ScoreJob]:
        assert self.task is not None
        turn = self.turn
        context = [Message(role=m["role"], content=m["content"]) for m in self.messages]
        self.messages.append({"role": "assistant", "content": action})
        item = Item(
            prompt=context,
            response=action,
            reference=self._reference(turn),
            metadata={**self.task.metadata, "turn": turn},
        )
        return [ScoreJob(self.turn_reward, item)]

    def finish_step(self, results: list[Result]) -> StepReturn:
        [result] = results
        score = reward_value(result, self.on_error)
        self.turn_scores.append(score)
        failed = failure_kind(result)
        terminated = truncated = False
        if failed is not None:
            self.end(failed)
            truncated = True
        else:
            following = self._next_user_turn()
            if following is None:
                self.end("end_of_dialogue")
                terminated = True
            elif self.turn >= self.max_turns:
                self.end("max_turns")
                truncated = True
            else:
                self.messages.append({"role": "user", "content": following})
        reward = score
        if self.reward_mode == "final":
            reward = self._aggregate() if self.done else 0.0
        self.rewards.append(reward)
        extra = {"result": result, "stop": self.stop, "turn_scores": list(self.turn_scores)}
        return self.observation(), reward, terminated, truncated, self.info(**extra)

    def _aggregate(self) -> float:
        scores = self.turn_scores
        if any(math.isnan(s) for s in scores):
            return math.nan
        if self.aggregate == "min":
            return min(scores)
        if self.aggregate == "last":
            return scores[-1]
        return statistics.fmean(scores)
