"""The registered environment ids (versioned) and their lazy entry points."""

from __future__ import annotations

import gymnasium as gym

__all__ = ["ENV_IDS", "register_envs"]

ENV_IDS: dict[str, str] = {
    "rewardgym/SingleTurn-v0": "rewardgym.envs.single_turn:SingleTurnEnv",
    "rewardgym/MultiStep-v0": "rewardgym.envs.multi_step:MultiStepEnv",
    "rewardgym/MultiTurn-v0": "rewardgym.envs.multi_turn:MultiTurnEnv",
    "rewardgym/ReasoningGym-v0": "rewardgym.envs.reasoning_gym_env:ReasoningGymEnv",
    "rewardgym/ToolUse-v0": "rewardgym.envs.tool_use:ToolUseEnv",
}
"""id -> ``module:Class``; the module is imported only when the id is made."""


def register_envs() -> None:
    """Register every id with gymnasium (idempotent)."""
    for env_id, entry_point in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)
