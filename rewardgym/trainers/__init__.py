"""Trainer integrations and rewardgym's own training loops.

- ``trl_reward``: a TRL reward function backed by a named reward (server or in process);
- ``env_reward``: a TRL reward function that plays completions through an environment;
- ``pairwise_judge``: a pairwise judge for online DPO-style trainers;
- ``verl``: verl's ``compute_score``; OpenRLHF talks to the server's ``POST /get_reward``;
- ``grpo``: ``rewardgym train grpo --env ID`` (TRL GRPO through an environment);
- ``self_rewarding``: ``rewardgym train self-rewarding`` (iterative DPO, self or external judge);
- ``reward_model``: ``rewardgym train reward-model`` (Bradley-Terry, TRL's reward trainer);
- ``curves``: held-out evaluation and reward curves (JSON + PNG); ``trl_args``: shared config.

Nothing here is imported by ``import rewardgym``; TRL and transformers load on first use.
"""

__all__: list[str] = []
