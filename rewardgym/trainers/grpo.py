"""Online RL through an environment: TRL GRPO with rewards from a rewardgym environment.

``train_grpo(GRPORun(...))`` is what ``rewardgym train grpo --env ID`` runs: the first
``train_size`` tasks of the environment's task source are the training prompts, and the next
``heldout_size`` tasks that repeat no training prompt are the held-out set. TRL's
``GRPOTrainer`` trains the model with an ``EnvReward``; the held-out reward (greedy) is
measured before training, every ``eval_every`` steps and at the end; the curve goes to
``grpo_curve.json`` / ``grpo_curve.png`` and a summary to ``grpo_report.json`` in the output
directory, the trained model to ``model/``.

Multi-step and multi-turn environments go through TRL's own slot instead: the model acts
with tool calls (``add_step``/``submit``, ``reply``) on one environment per rollout
(``trainers.trl_env.environment_factory``), the environment's return is the reward, and the
held-out reward is TRL's evaluation of the same tool loop on the held-out tasks. The model's
tokenizer needs a chat template that renders tools and a response template that parses
tool calls (TRL's ``add_response_schema`` knows the common ones).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import rewardgym.envs  # noqa: F401  (registers the ids)
from rewardgym.envs.datasets import split_rows
from rewardgym.integrations.trl_env import EpisodeLog, SubmitEnvironment, environment_factory
from rewardgym.integrations.trl_env_reward import EnvReward
from rewardgym.progress import progress_bar
from rewardgym.trainers.curves import CurveRecorder, write_curve
from rewardgym.trainers.runs import GRPORun
from rewardgym.trainers.trl_args import common_trl_args

__all__ = ["tool_calling_tokenizer", "train_grpo"]


def tool_calling_tokenizer(tokenizer: Any, model: str) -> Any:
    """The tokenizer with a response template for tool calls; a clear error when its chat
    template cannot show tools or TRL knows no parser for it."""
    from trl.chat_template_utils import add_response_schema

    template = tokenizer.chat_template or ""
    if "tools" not in template:
        raise ValueError(
            f"{model}: its chat template does not render tools, and multi-step / multi-turn "
            "environments act through tool calls; give the tokenizer a tool-calling template "
            "(e.g. TRL's trl/chat_templates/qwen3.jinja)"
        )
    try:
        return add_response_schema(tokenizer)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{model}: TRL cannot parse tool calls of this template: {exc}") from exc


def train_grpo(run: GRPORun, *, show_progress: bool = True) -> dict[str, Any]:
    """Train with GRPO through the environment; returns the report it also writes."""
    import datasets
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, set_seed

    set_seed(run.seed)
    out = Path(run.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_rows, heldout_rows = split_rows(
        run.env_id, run.env_kwargs, run.train_size, run.heldout_size
    )
    factory = environment_factory(run.env_id, url=run.url, **run.env_kwargs)
    uses_tools = factory.tool_class is not SubmitEnvironment
    reward = None if uses_tools else EnvReward(run.env_id, run.env_kwargs, url=run.url)
    model = AutoModelForCausalLM.from_pretrained(run.model)
    tokenizer = AutoTokenizer.from_pretrained(run.model)
    tool_args: dict[str, Any] = {}
    if uses_tools:
        tokenizer = tool_calling_tokenizer(tokenizer, run.model)
        tool_args = {
            "eval_strategy": "steps",
            "eval_steps": run.eval_every,
            "per_device_eval_batch_size": run.batch_size,
            "num_generations_eval": run.num_generations,
        }
    config = trl.GRPOConfig(
        **common_trl_args(str(out / "trainer"), use_cpu=run.use_cpu, seed=run.seed),
        max_steps=run.max_steps,
        per_device_train_batch_size=run.batch_size,
        num_generations=run.num_generations,
        max_completion_length=run.max_completion_length,
        learning_rate=run.learning_rate,
        temperature=run.temperature,
        beta=run.beta,
        **tool_args,
    )
    started = time.perf_counter()
    with progress_bar(disable=not show_progress) as bar:
        job = bar.add_task("GRPO steps", total=run.max_steps)

        def tick(step: int, train_reward: float | None) -> None:
            shown = "-" if train_reward is None else f"{train_reward:.3f}"
            bar.update(job, completed=step, description=f"GRPO steps (reward {shown})")

        recorder = CurveRecorder(
            tokenizer,
            reward,
            heldout_rows,
            eval_every=run.eval_every,
            max_new_tokens=run.max_completion_length,
            progress=tick,
        )
        if reward is not None:
            recorder.evaluate(model, 0)
            trainer = trl.GRPOTrainer(
                model=model,
                reward_funcs=reward,
                args=config,
                train_dataset=datasets.Dataset.from_list(train_rows),
                processing_class=tokenizer,
                callbacks=[recorder],
            )
        else:  # TRL's environment slot: tools, one environment per rollout
            trainer = trl.GRPOTrainer(
                model=model,
                reward_funcs=[EpisodeLog()],
                args=config,
                train_dataset=datasets.Dataset.from_list(train_rows),
                eval_dataset=datasets.Dataset.from_list(heldout_rows),
                processing_class=tokenizer,
                callbacks=[recorder],
                environment_factory=factory,
            )
        trainer.remove_callback(PrinterCallback)  # the progress bar and curve replace it
        if reward is None:
            trainer.evaluate()  # the held-out reward before training (step 0)
        trainer.train()
        if not recorder.heldout or recorder.heldout[-1]["step"] != trainer.state.global_step:
            if reward is not None:
                recorder.evaluate(trainer.model, trainer.state.global_step)
            else:
                trainer.evaluate()
    trainer.save_model(str(out / "model"))
    tokenizer.save_pretrained(str(out / "model"))
    if reward is not None:
        reward.close()
    curve = {"train": recorder.train, "heldout": recorder.heldout, "x_label": "GRPO step"}
    json_path, png_path = write_curve(curve, out, "grpo_curve", f"GRPO through {run.env_id}")
    report = {
        "run": asdict(run),
        "heldout_start": recorder.heldout[0]["reward"],
        "heldout_end": recorder.heldout[-1]["reward"],
        "steps": trainer.state.global_step,
        "seconds": round(time.perf_counter() - started, 1),
        "curve_json": str(json_path),
        "curve_png": str(png_path),
        "model_dir": str(out / "model"),
    }
    (out / "grpo_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
