"""A batched vector environment: N text environments, one reward call per step.

Gymnasium's ``SyncVectorEnv`` steps sub-environments one after another, so N environments
would make N reward calls. ``BatchedTextEnv`` asks every sub-environment for the items its
action needs scored (``begin_step``), scores all of them with one call per reward (one HTTP
request to a server, or one batch in process), and hands each sub-environment its results
(``finish_step``).

It follows gymnasium's ``VectorEnv`` contract: observations are a tuple of strings, rewards,
terminations and truncations are arrays, ``infos`` maps each key to an array with a ``_key``
mask, and a finished sub-environment resets on the next ``step`` (``AutoresetMode.NEXT_STEP``:
its action is ignored, its reward is 0 and its observation is the new task's prompt).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Tuple
from gymnasium.vector import AutoresetMode, VectorEnv

from rewardgym.envs.base import TextEnv, step_together
from rewardgym.scoring import Scorer, make_scorer

__all__ = ["BatchedTextEnv"]


def _merge_infos(infos: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """Gymnasium's vector info layout: ``info[key]`` an array over sub-environments and
    ``info["_" + key]`` the mask of those that have it. Values stay whole objects."""
    n = len(infos)
    merged: dict[str, Any] = {}
    keys = {k for info in infos if info for k in info}
    for key in sorted(keys):
        values = [info.get(key) if info else None for info in infos]
        present = np.array([info is not None and key in info for info in infos])
        sample = next(v for v, p in zip(values, present, strict=True) if p)
        if isinstance(sample, bool):
            array: np.ndarray = np.zeros(n, dtype=bool)
        elif isinstance(sample, int | float):
            array = np.zeros(n, dtype=np.float64)
        else:
            array = np.full(n, None, dtype=object)
        for i, (value, has) in enumerate(zip(values, present, strict=True)):
            if has:
                array[i] = value
        merged[key] = array
        merged[f"_{key}"] = present
    return merged


class BatchedTextEnv(VectorEnv[Any, Any, Any]):
    """N rewardgym environments stepped together, scored with one reward call per step.

    Args:
        env_fns: functions that build the sub-environments, or
        env_id + num_envs (+ env kwargs): ``gym.make(env_id, **kwargs)`` N times.
        scorer: None (in process), a server URL, or a Scorer; shared by every sub-environment.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012 (gymnasium's)

    def __init__(
        self,
        env_fns: Sequence[Callable[[], gym.Env[Any, Any]]] | None = None,
        *,
        env_id: str | None = None,
        num_envs: int | None = None,
        scorer: Scorer | str | None = None,
        **env_kwargs: Any,
    ) -> None:
        self.scorer = make_scorer(scorer, timeout_s=env_kwargs.get("timeout_s", 300.0))
        if env_fns is None:
            if env_id is None or not num_envs:
                raise ValueError("give env_fns, or env_id and num_envs")
            kwargs = {**env_kwargs, "scorer": self.scorer}
            env_fns = [lambda: gym.make(env_id, **kwargs) for _ in range(num_envs)]
        self.envs: list[TextEnv] = []
        for fn in env_fns:
            env = fn().unwrapped
            if not isinstance(env, TextEnv):
                raise TypeError(f"{type(env).__name__} is not a rewardgym text environment")
            self.envs.append(env)
        self.num_envs = len(self.envs)
        first = self.envs[0]
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = Tuple([first.observation_space] * self.num_envs)
        self.action_space = Tuple([first.action_space] * self.num_envs)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Reset every sub-environment. ``seed``: one int (sub-environment i gets seed + i) or
        a list; ``options["tasks"]``: one task row per sub-environment, or ``options["task"]``:
        the same row for all (a GRPO group)."""
        if isinstance(seed, int):
            seeds: list[int | None] = [seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed) if seed is not None else [None] * self.num_envs
        options = dict(options or {})
        rows = options.pop("tasks", None)
        observations, infos = [], []
        for i, env in enumerate(self.envs):
            env_options = dict(options)
            if rows is not None:
                env_options["task"] = rows[i]
            obs, info = env.reset(seed=seeds[i], options=env_options)
            observations.append(obs)
            infos.append(info)
        self._needs_reset[:] = False
        return tuple(observations), _merge_infos(infos)

    def step(
        self, actions: Sequence[str]
    ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if len(actions) != self.num_envs:
            raise ValueError(f"{len(actions)} actions for {self.num_envs} environments")
        checked = [  # every action checked before any sub-environment takes one
            None if self._needs_reset[i] else env.check_action(action)
            for i, (env, action) in enumerate(zip(self.envs, actions, strict=True))
        ]
        moving = [i for i, action in enumerate(checked) if action is not None]
        stepped = dict(
            zip(
                moving,
                step_together(self.scorer, [(self.envs[i], checked[i] or "") for i in moving]),
                strict=True,
            )
        )
        observations: list[str] = []
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any] | None] = []
        for i, env in enumerate(self.envs):
            if self._needs_reset[i]:
                obs, info = env.reset()
                self._needs_reset[i] = False
                observations.append(obs)
                infos.append(info)
                continue
            obs, reward, term, trunc, info = stepped[i]
            observations.append(obs)
            rewards[i], terminated[i], truncated[i] = float(reward), term, trunc
            self._needs_reset[i] = term or trunc
            infos.append(info)
        return tuple(observations), rewards, terminated, truncated, _merge_infos(infos)

    def render(self) -> tuple[str | None, ...]:  # type: ignore[override]
        return tuple(env.render() for env in self.envs)

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()

    @classmethod
    def for_group(
        cls, env_id: str, group_size: int, row: Mapping[str, Any], **kwargs: Any
    ) -> tuple[BatchedTextEnv, tuple[str, ...], dict[str, Any]]:
        """A GRPO group: ``group_size`` copies of one task, reset and ready."""
        env = cls(env_id=env_id, num_envs=group_size, **kwargs)
        obs, info = env.reset(options={"task": dict(row)})
        return env, obs, info
