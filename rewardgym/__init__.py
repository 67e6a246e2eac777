"""rewardgym: a reward server and Gymnasium environments for training LLMs.

Heavy parts (the server, judges, clients) are imported lazily: ``import rewardgym`` is cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from rewardgym.version import __version__

__all__ = [
    "AsyncRewardClient",
    "Item",
    "Result",
    "RewardClient",
    "RewardService",
    "RewardSpec",
    "ScoreRequest",
    "__version__",
]

_LAZY = {
    "AsyncRewardClient": "rewardgym.client",
    "RewardClient": "rewardgym.client",
    "RewardService": "rewardgym.service",
    "Item": "rewardgym.schema",
    "Result": "rewardgym.schema",
    "RewardSpec": "rewardgym.schema",
    "ScoreRequest": "rewardgym.schema",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rewardgym' has no attribute {name!r}")
