"""Gymnasium environments over rewardgym rewards.

Importing this package registers the ids (``rewardgym.envs.ENV_IDS``) with gymnasium::

    import gymnasium as gym
    import rewardgym.envs  # registers rewardgym/SingleTurn-v0, MultiStep-v0, ...

    env = gym.make("rewardgym/ReasoningGym-v0", task="basic_arithmetic")
"""

from rewardgym.envs.registration import ENV_IDS, register_envs

__all__ = ["ENV_IDS", "register_envs"]

register_envs()
