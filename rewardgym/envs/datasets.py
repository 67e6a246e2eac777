"""Dataset rows from an environment's tasks: what trainers' datasets hold, and what an
environment resets to (the same row, the same start state)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from rewardgym.envs.base import TextEnv

__all__ = ["env_rows", "read_task", "split_rows"]


def env_rows(env: gym.Env[Any, Any], indices: Sequence[int]) -> list[dict[str, Any]]:
    """Dataset rows for the tasks at ``indices`` of a text environment's task source:
    ``prompt`` (the chat messages the episode starts with), ``reference`` (text) and ``task``
    (the task as JSON, which ``EnvReward`` resets to)."""
    base = env.unwrapped
    if not isinstance(base, TextEnv):
        raise TypeError("env_rows() needs a rewardgym text environment")
    rows = []
    for index in indices:
        _, info = base.reset(options={"index": index})
        reference = info["reference"]
        rows.append(
            {
                "prompt": info["messages"],
                "reference": reference if isinstance(reference, str) else json.dumps(reference),
                "task": json.dumps(info["task"], ensure_ascii=False),
            }
        )
    return rows


def read_task(value: Any) -> Any:
    """A dataset's ``task`` cell as ``reset(options={"task": ...})`` takes it: the JSON text
    ``env_rows`` writes decoded (a task row), anything else as it is."""
    if not isinstance(value, str):
        return value
    row = json.loads(value)
    if not isinstance(row, dict):
        raise ValueError("the task column holds a JSON object (as env_rows writes it)")
    return row


def split_rows(
    env_id: str, env_kwargs: dict[str, Any], train_size: int, heldout_size: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Training rows (the first ``train_size`` tasks) and held-out rows: the next tasks whose
    prompt no training row has (procedural generators repeat problems), ``heldout_size`` of
    them. Too few tasks for either is a ValueError saying how many there are."""
    env = gym.make(env_id, **env_kwargs)
    try:
        size = len(env.unwrapped.source)  # type: ignore[attr-defined]
        if train_size >= size:
            raise ValueError(f"{env_id} has {size} tasks; train_size {train_size} leaves none")
        train = env_rows(env, range(train_size))
        seen = {json.dumps(r["prompt"]) for r in train}
        heldout: list[dict[str, Any]] = []
        index = train_size
        while len(heldout) < heldout_size and index < size:
            [row] = env_rows(env, [index])
            if json.dumps(row["prompt"]) not in seen:
                heldout.append(row)
                seen.add(json.dumps(row["prompt"]))
            index += 1
    finally:
        env.close()
    if len(heldout) < heldout_size:
        raise ValueError(
            f"{env_id} has {len(heldout)} tasks beyond the first {train_size} that training "
            f"does not repeat; {heldout_size} held-out tasks were asked for (raise its size)"
        )
    return train, heldout
