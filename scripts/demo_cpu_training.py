#!/usr/bin/env python3
"""CPU demonstration: a tiny model learns reasoning-gym arithmetic by GRPO through the
environment and by the self-rewarding DPO loop (an external rule reward as the judge).

Stages (each writes under --out):
  1. build a tiny random Qwen2 (digit-level BPE tokenizer, chat template) -> base/
  2. brief supervised warm-up on the answer format (TRL SFT) -> warm/
  3. GRPO through rewardgym/ReasoningGym-v0 from warm/ -> grpo/ (curve JSON + PNG)
  4. self-rewarding iterative DPO from warm/, judged by the same rule reward -> self_rewarding/
Both runs report the held-out reward (greedy, tasks not trained on) at the start and end.
Runs in about 10-15 minutes on 2 CPU cores. Needs the train extra: pip install 'rewardgym[train]'.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

TASK = "basic_arithmetic"
TASK_CONFIG: dict[str, Any] = {
    "min_terms": 2,
    "max_terms": 2,
    "min_digits": 1,
    "max_digits": 1,
    "operators": ["+"],
}
SYSTEM = "Give your final answer inside <answer></answer> tags."
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def env_kwargs(size: int, seed: int) -> dict[str, Any]:
    return {
        "task": TASK,
        "size": size,
        "dataset_seed": seed,
        "task_config": TASK_CONFIG,
        "system_prompt": SYSTEM,
    }


def build_model(out: Path, seed: int) -> None:
    """A tiny Qwen2 with a BPE tokenizer that splits digits one by one."""
    import reasoning_gym
    from tiny_qwen2 import bpe_tokenizer, tiny_qwen2

    data = reasoning_gym.create_dataset(TASK, size=200, seed=seed + 999, **TASK_CONFIG)
    corpus = [
        SYSTEM,
        "system user assistant",
        *[f"{d['question']} <answer>{d['answer']}</answer>" for d in data],
    ]
    tokenizer = bpe_tokenizer(corpus * 4, 400, split_digits=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    model = tiny_qwen2(tokenizer, layers=4, intermediate_size=512, max_positions=256, seed=seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    n = sum(p.numel() for p in model.parameters()) / 1e6
    print(f"[build] {n:.2f}M parameters, {len(tokenizer)} tokens -> {out}")


def warm_up(base: Path, out: Path, rows: list[dict[str, Any]], steps: int, seed: int) -> None:
    """Supervised warm-up on (prompt, '<answer>N</answer>') for a few steps (TRL SFT)."""
    import datasets
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = datasets.Dataset.from_list(
        [
            {
                "prompt": r["prompt"],
                "completion": [
                    {"role": "assistant", "content": f"<answer>{r['reference']}</answer>"}
                ],
            }
            for r in rows
        ]
    )
    config = trl.SFTConfig(
        output_dir=str(out / "trainer"),
        use_cpu=True,
        bf16=False,  # bf16 autocast on a CPU is many times slower
        max_steps=steps,
        per_device_train_batch_size=32,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
        logging_steps=max(1, steps // 5),
        report_to=[],
        save_strategy="no",
        seed=seed,
        disable_tqdm=False,
    )
    trainer = trl.SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(base),
        args=config,
        train_dataset=data,
        processing_class=AutoTokenizer.from_pretrained(base),
    )
    trainer.train()
    trainer.save_model(str(out))
    AutoTokenizer.from_pretrained(base).save_pretrained(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="output directory")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model, data and training")
    parser.add_argument("--warmup-steps", type=int, default=400, help="SFT warm-up steps")
    parser.add_argument("--grpo-steps", type=int, default=400, help="GRPO steps")
    parser.add_argument("--grpo-lr", type=float, default=1e-4, help="GRPO learning rate")
    parser.add_argument("--iterations", type=int, default=8, help="self-rewarding iterations")
    parser.add_argument("--heldout", type=int, default=200, help="held-out tasks")
    parser.add_argument(
        "--stages", default="build,warmup,grpo,self", help="comma-separated stages to run"
    )
    parser.add_argument(
        "--results", type=Path, help="also copy the curves (JSON, PNG) and summary here"
    )
    opts = parser.parse_args()
    stages = set(opts.stages.split(","))

    import rewardgym.envs  # noqa: F401
    from rewardgym.envs.datasets import split_rows
    from rewardgym.trainers.grpo import train_grpo
    from rewardgym.trainers.runs import GRPORun, SelfRewardingRun
    from rewardgym.trainers.self_rewarding import train_self_rewarding

    out: Path = opts.out
    out.mkdir(parents=True, exist_ok=True)
    env_id = "rewardgym/ReasoningGym-v0"
    kwargs = env_kwargs(2000, opts.seed)
    train_size = 256
    base, warm = out / "base", out / "warm"
    summary_path = out / "summary.json"
    summary: dict[str, Any] = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    summary.update(
        seed=opts.seed,
        task=TASK,
        task_config=TASK_CONFIG,
        train_tasks=train_size,
        heldout_tasks=opts.heldout,
        heldout_note="held-out tasks repeat no training prompt; reward = the task's own "
        "reasoning-gym checker on greedy completions",
    )
    if "build" in stages:
        build_model(base, opts.seed)
    if "warmup" in stages:
        t0 = time.perf_counter()
        train_rows, _ = split_rows(env_id, kwargs, train_size, 1)
        warm_up(base, warm, train_rows, opts.warmup_steps, opts.seed)
        summary["warmup"] = {
            "steps": opts.warmup_steps,
            "seconds": round(time.perf_counter() - t0, 1),
        }
    if "grpo" in stages:
        report = train_grpo(
            GRPORun(
                env_id=env_id,
                env_kwargs=kwargs,
                model=str(warm),
                output_dir=str(out / "grpo"),
                train_size=train_size,
                heldout_size=opts.heldout,
                max_steps=opts.grpo_steps,
                batch_size=32,
                num_generations=8,
                max_completion_length=12,
                learning_rate=opts.grpo_lr,
                eval_every=max(1, opts.grpo_steps // 8),
                seed=opts.seed,
            )
        )
        summary["grpo"] = {
            k: report[k]
            for k in ("heldout_start", "heldout_end", "steps", "seconds", "curve_json", "curve_png")
        }
    if "self" in stages:
        t0 = time.perf_counter()
        shutil.rmtree(out / "self_rewarding", ignore_errors=True)
        run = SelfRewardingRun(
            model=str(warm),
            output_dir=str(out / "self_rewarding"),
            env_id=env_id,
            env_kwargs=kwargs,
            judge="env",
            iterations=opts.iterations,
            prompts_per_iteration=train_size,
            train_size=train_size,
            heldout_size=opts.heldout,
            samples=8,
            max_new_tokens=12,
            learning_rate=1e-4,
            epochs=2,
            batch_size=16,
            beta=0.1,
            seed=opts.seed,
        )
        reports = train_self_rewarding(run)
        initial = json.loads((out / "self_rewarding" / "initial.json").read_text())
        summary["self_rewarding"] = {
            "judge": "env (the task's reasoning-gym checker, an external rule reward)",
            "heldout_start": initial["heldout_reward"],
            "heldout_end": reports[-1]["heldout_reward"],
            "heldout_by_iteration": [r["heldout_reward"] for r in reports],
            "sample_reward_by_iteration": [r["mean_external_reward"] for r in reports],
            "pairs_by_iteration": [r["pairs"] for r in reports],
            "iterations": len(reports),
            "seconds": round(time.perf_counter() - t0, 1),
            "curve_json": str(out / "self_rewarding" / "self_rewarding_curve.json"),
            "curve_png": str(out / "self_rewarding" / "self_rewarding_curve.png"),
        }
    for part in ("grpo", "self_rewarding"):
        curve_path = out / part / f"{part}_curve.json"
        if curve_path.is_file() and part in summary:
            points = json.loads(curve_path.read_text())["heldout"]
            summary[part]["heldout_solved_start"] = points[0].get("solved")
            summary[part]["heldout_solved_end"] = points[-1].get("solved")
            summary[part]["heldout_curve"] = [
                {k: p[k] for k in ("step", "reward", "solved") if k in p} for p in points
            ]
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    if opts.results:
        opts.results.mkdir(parents=True, exist_ok=True)
        for part in ("grpo", "self_rewarding"):
            for suffix in ("json", "png"):
                found = out / part / f"{part}_curve.{suffix}"
                if found.is_file():
                    shutil.copy(found, opts.results / found.name)
        shutil.copy(summary_path, opts.results / "summary.json")


if __name__ == "__main__":
    main()
