"""Reward curves: held-out evaluation, a TRL callback that records curves, JSON and PNG.

``heldout_reward`` generates one completion per held-out row (greedy by default) and scores
it with an ``EnvReward``; ``CurveRecorder`` is a ``TrainerCallback`` that keeps the trainer's
logged training reward and evaluates the held-out reward every ``eval_every`` steps;
``write_curve`` saves both as JSON and draws them as a PNG (matplotlib, headless).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rewardgym.envs.rollout import TransformersPolicy
from rewardgym.integrations.trl_env_reward import EnvReward

__all__ = ["CurveRecorder", "complete", "heldout_reward", "plot_curve", "write_curve"]

SMOOTHING = 20
"""Steps in the moving average drawn over a noisy training curve."""


def complete(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    *,
    max_new_tokens: int,
    temperature: float,
    batch_size: int = 64,
) -> list[str]:
    """One completion per row (its ``prompt`` messages), generated in batches in eval mode."""
    was_training = model.training
    model.eval()
    policy = TransformersPolicy(
        model, tokenizer, max_new_tokens=max_new_tokens, temperature=temperature
    )
    completions: list[str] = []
    try:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            completions.extend(policy([list(r["prompt"]) for r in batch]))
    finally:
        model.train(was_training)
    return completions


def heldout_reward(
    model: Any,
    tokenizer: Any,
    reward: EnvReward,
    rows: Sequence[dict[str, Any]],
    *,
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Mean reward of the model's completions on ``rows`` (``env_rows`` rows).

    Returns ``{"mean": ..., "solved": ..., "rewards": [...], "failed": n, "completions":
    [...]}``: ``solved`` is the fraction of rows that earned a reward of 1 or more (a right
    answer, for 0-1 checkers); failed episodes are counted, not averaged in.
    """
    completions = complete(
        model,
        tokenizer,
        rows,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        batch_size=batch_size,
    )
    values = reward([r["prompt"] for r in rows], completions, task=[r["task"] for r in rows])
    scored = [v for v in values if v is not None and not math.isnan(v)]
    return {
        "mean": statistics.fmean(scored) if scored else math.nan,
        "solved": sum(v >= 1.0 for v in scored) / len(values) if values else math.nan,
        "rewards": values,
        "failed": len(values) - len(scored),
        "completions": completions,
    }


class CurveRecorder(TrainerCallback):
    """Records the training reward the trainer logs and, every ``eval_every`` steps, the
    held-out reward (``heldout_reward`` on ``rows``; None or 0 turns it off). Without a
    ``reward`` (tool-calling environments, which TRL evaluates itself), the held-out points
    are the trainer's own ``eval_reward`` logs."""

    def __init__(
        self,
        tokenizer: Any,
        reward: EnvReward | None,
        rows: Sequence[dict[str, Any]],
        *,
        eval_every: int = 0,
        max_new_tokens: int = 64,
        progress: Any = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.reward = reward
        self.rows = rows
        self.eval_every = eval_every
        self.max_new_tokens = max_new_tokens
        self.progress = progress
        self.train: list[dict[str, float]] = []
        self.heldout: list[dict[str, float]] = []

    def evaluate(self, model: Any, step: int) -> float:
        if self.reward is None:
            raise ValueError("no reward to evaluate with: the trainer's eval logs are used")
        figures = heldout_reward(
            model, self.tokenizer, self.reward, self.rows, max_new_tokens=self.max_new_tokens
        )
        self.heldout.append({"step": step, "reward": figures["mean"], "solved": figures["solved"]})
        return float(figures["mean"])

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if logs and self.reward is None and logs.get("eval_reward") is not None:
            self.heldout.append({"step": state.global_step, "reward": float(logs["eval_reward"])})
        if logs and "reward" in logs:
            point = {"step": state.global_step, "reward": float(logs["reward"])}
            if "reward_std" in logs:
                point["reward_std"] = float(logs["reward_std"])
            self.train.append(point)

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.progress is not None:
            self.progress(state.global_step, self.train[-1]["reward"] if self.train else None)
        due = self.eval_every and state.global_step % self.eval_every == 0
        if due and self.rows and self.reward is not None:
            self.evaluate(kw["model"], state.global_step)


def plot_curve(curve: dict[str, Any], path: Path, title: str) -> None:
    """Draw the training and held-out reward over steps as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    train = curve.get("train") or []
    noisy = len(train) > 2 * SMOOTHING
    if train:
        ax.plot(
            [p["step"] for p in train],
            [p["reward"] for p in train],
            "-",
            alpha=0.35 if noisy else 1.0,
            label=curve.get("train_label", "training reward (batch mean)"),
        )
    if noisy:
        values = [p["reward"] for p in train]
        means = [
            statistics.fmean(values[max(0, i - SMOOTHING + 1) : i + 1]) for i in range(len(values))
        ]
        ax.plot([p["step"] for p in train], means, "-", label=f"its mean over {SMOOTHING} steps")
    heldout = curve.get("heldout") or []
    if heldout:
        ax.plot(
            [p["step"] for p in heldout],
            [p["reward"] for p in heldout],
            "o-",
            label=curve.get("heldout_label", "held-out reward (greedy)"),
        )
    ax.set_xlabel(curve.get("x_label", "step"))
    ax.set_ylabel("reward")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_curve(curve: dict[str, Any], out_dir: Path, name: str, title: str) -> tuple[Path, Path]:
    """``NAME.json`` and ``NAME.png`` in ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    png_path = out_dir / f"{name}.png"
    json_path.write_text(json.dumps(curve, indent=2) + "\n", encoding="utf-8")
    plot_curve(curve, png_path, title)
    return json_path, png_path
