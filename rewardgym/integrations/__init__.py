"""The trainers' and protocols' own slots, so users keep their trainer and write no glue.

- ``trl_reward``: a TRL reward function backed by a named reward (server or in process);
- ``trl_env_reward``: a TRL reward function that plays completions through an environment;
- ``trl_env``: TRL's ``GRPOTrainer(environment_factory=...)`` over a rewardgym environment;
- ``trl_judge``: a pairwise judge for TRL's online DPO-style trainers;
- ``verl``: verl's ``compute_score`` (one sample and batched);
- ``openenv``: an OpenEnv server (openenv-core's ``create_app``) for any registered environment.

OpenRLHF, slime and NeMo Gym call the server's own routes (``server/routes``); nothing here
is needed for them. Nothing here is imported by ``import rewardgym``.
"""

__all__: list[str] = []
