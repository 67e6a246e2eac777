"""rewardgym's own training loops (the trainers' own slots are in ``rewardgym.integrations``).

- ``grpo``: ``rewardgym train grpo --env ID`` (TRL GRPO through an environment);
- ``self_rewarding``: ``rewardgym train self-rewarding`` (iterative DPO, self or external judge);
- ``reward_model``: ``rewardgym train reward-model`` (Bradley-Terry, TRL's reward trainer);
- ``curves``: held-out evaluation and reward curves (JSON + PNG); ``trl_args``: shared config.

Nothing here is imported by ``import rewardgym``; TRL and transformers load on first use.
"""

__all__: list[str] = []
