"""The named rewards built from a config, and inline specs built on demand: the one
``Resolver`` every reward is given (reward types by id live in ``judges.catalog``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from rewardgym.errors import ConfigError, UnknownRewardError
from rewardgym.judges.catalog import BUILTIN_TYPES, ENTRY_POINT_GROUP, load_type, reward_types
from rewardgym.schema import RewardInfo, RewardSpec

if TYPE_CHECKING:
    from rewardgym.judges.backends.factory import BackendParams
    from rewardgym.judges.base import Reward

__all__ = ["BUILTIN_TYPES", "ENTRY_POINT_GROUP", "RewardRegistry", "load_type", "reward_types"]


class RewardRegistry:
    """Named rewards (and judge backends) from a config, plus inline specs built on demand
    (kept in a bounded LRU; an evicted one is closed)."""

    def __init__(
        self,
        specs: list[RewardSpec],
        *,
        max_inline: int = 256,
        backends: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self._backends = {
            name: _backend_params(name, raw) for name, raw in (backends or {}).items()
        }
        self._specs = {spec.name or spec.type: spec for spec in specs}
        self._named: dict[str, Reward] = {}
        self._inline: OrderedDict[str, Reward] = OrderedDict()
        self._max_inline = max_inline
        self._building: set[str] = set()
        for name in self._specs:
            self.get(name)  # build all named rewards now: a bad config fails at start-up

    def backend_params(self, name: str) -> BackendParams:
        """The config's judge backend called ``name``; an unknown name lists the known ones."""
        if name not in self._backends:
            raise ConfigError(
                f"no judge backend named {name!r} in the config",
                known_backends=sorted(self._backends),
            )
        return self._backends[name]

    def names(self) -> list[str]:
        """Names of the configured rewards, in config order."""
        return list(self._specs)

    def get(self, name: str) -> Reward:
        """The named reward; 404-style error listing the known names otherwise."""
        if name in self._named:
            return self._named[name]
        if name not in self._specs:
            raise UnknownRewardError(f"unknown reward {name!r}", known=self.names())
        if name in self._building:
            raise ConfigError(f"reward {name!r} refers to itself through its components")
        self._building.add(name)
        try:
            spec = self._specs[name]
            reward = load_type(spec.type)(spec, self)
        finally:
            self._building.discard(name)
        self._named[name] = reward
        return reward

    def resolve(self, ref: str | RewardSpec) -> Reward:
        """A reward from a name or an inline spec."""
        if isinstance(ref, str):
            return self.get(ref)
        key = json.dumps(ref.model_dump(mode="json"), sort_keys=True)
        reward = self._inline.get(key)
        if reward is None:
            reward = load_type(ref.type)(ref, self)
            reward.label = f"inline:{ref.type}"  # metrics: one series per type, not per spec
            self._inline[key] = reward
            while len(self._inline) > self._max_inline:
                _, evicted = self._inline.popitem(last=False)
                _close_later(evicted)
        else:
            self._inline.move_to_end(key)
        return reward

    def info(self, name: str) -> RewardInfo:
        """What ``GET /v1/rewards/{name}`` returns."""
        reward = self.get(name)
        return RewardInfo(
            name=name,
            type=reward.spec.type,
            description=reward.spec.description or reward.description,
            params=reward.params.model_dump(mode="json"),
            taxonomy=reward.taxonomy,
        )

    def all_rewards(self) -> list[Reward]:
        """Every reward built so far (named and inline)."""
        return [*self._named.values(), *self._inline.values()]


def _backend_params(name: str, raw: dict[str, Any]) -> BackendParams:
    from pydantic import ValidationError

    from rewardgym.judges.backends.factory import BackendParams

    try:
        return BackendParams.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"judge backend {name!r} in the config is invalid:\n{exc}") from exc


_CLOSING: set[asyncio.Task[None]] = set()


def _close_later(reward: Reward) -> None:
    """Close an evicted inline reward (its pools, gauges, clients) without waiting for it."""
    with contextlib.suppress(RuntimeError):  # no running loop: nothing was started
        task = asyncio.get_running_loop().create_task(reward.aclose())
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)
