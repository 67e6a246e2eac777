"""The runs of rewardgym's training loops, as plain dataclasses: one place for every default.

The CLI (``rewardgym train ...``) takes its options' defaults from these fields, and the
loops (``grpo``, ``self_rewarding``, ``reward_model``) take a run; this module imports
nothing heavy, so ``rewardgym --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["GRPORun", "RewardModelRun", "SelfRewardingRun"]


@dataclass
class GRPORun:
    """One GRPO run through an environment (the CLI's options)."""

    env_id: str
    model: str
    output_dir: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    url: str | None = None
    train_size: int = 256
    heldout_size: int = 64
    max_steps: int = 100
    batch_size: int = 16
    num_generations: int = 8
    max_completion_length: int = 64
    learning_rate: float = 1e-4
    temperature: float = 1.0
    beta: float = 0.0
    eval_every: int = 25
    seed: int = 0
    use_cpu: bool = True


@dataclass
class SelfRewardingRun:
    """A self-rewarding run (the CLI's options)."""

    model: str
    output_dir: str
    env_id: str = "rewardgym/ReasoningGym-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    judge: str | dict[str, Any] = "self"
    url: str | None = None
    iterations: int = 3
    prompts_per_iteration: int = 64
    train_size: int = 512
    heldout_size: int = 64
    samples: int = 4
    temperature: float = 1.0
    max_new_tokens: int = 64
    judge_samples: int = 3
    judge_verdict: Literal["text", "json", "logprobs"] = "text"
    min_margin: float = 0.0
    length_control: bool = False
    beta: float = 0.1
    reference: Literal["initial", "previous"] = "previous"
    learning_rate: float = 5e-5
    epochs: float = 1.0
    batch_size: int = 8
    external: bool = True
    seed: int = 0
    use_cpu: bool = True


@dataclass
class RewardModelRun:
    """One reward-model training run (the CLI's options)."""

    data: str
    output_dir: str
    backbone: str | None = None
    eval_data: list[str] = field(default_factory=list)
    heldout_fraction: float = 0.2
    epochs: float = 3.0
    learning_rate: float = 5e-5
    batch_size: int = 8
    max_length: int = 512
    seed: int = 0
    use_cpu: bool = True
