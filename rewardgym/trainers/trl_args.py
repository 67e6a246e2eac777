"""The TRL config arguments every rewardgym training loop shares."""

from __future__ import annotations

from typing import Any

__all__ = ["common_trl_args"]


def common_trl_args(output_dir: str, *, use_cpu: bool, seed: int) -> dict[str, Any]:
    """Arguments for any TRL ``*Config``: CPU or not (bf16 only on a GPU: bf16 autocast on a
    CPU is many times slower), every step logged for the reports, no hub / wandb reporting,
    no intermediate checkpoints, and TRL's own bars off (rewardgym shows its own)."""
    return {
        "output_dir": output_dir,
        "use_cpu": use_cpu,
        "bf16": not use_cpu,
        "logging_steps": 1,
        "report_to": [],
        "save_strategy": "no",
        "seed": seed,
        "disable_tqdm": True,
    }
