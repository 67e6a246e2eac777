"""Self-rewarding iterative DPO (Yuan et al., 2024), with any rewardgym reward as the judge.

Each iteration:
  1. sample ``samples`` responses per prompt from the current model (transformers);
  2. score them: ``judge="self"`` asks the current model itself with the additive 5-point rubric
     through the in-process transformers backend (``judge_samples`` judgments averaged);
     ``judge="env"`` uses the environment's own reward; anything else is a reward name (on
     ``url`` or in process) or an inline spec;
  3. build pairs: per prompt the highest-scored response (chosen) against the lowest
     (rejected), dropped when their margin is ``min_margin`` or less (ties included); with
     ``length_control`` the shortest of the best and the longest of the worst are taken;
  4. train DPO with TRL (``beta``) from the current model, against the first model
     (``reference="initial"``) or the current one (``"previous"``);
  5. save ``iteration-K/`` (model, tokenizer, ``report.json``): mean judge score, pairs, mean
     response length, and when an external reward is measured (the environment's own reward,
     ``external=True``) the mean external reward of the samples, the judge's agreement with
     it on the pairs, and the held-out external reward (greedy).
Prompts come from the environment's task source: iteration K takes the next
``prompts_per_iteration`` training tasks; the held-out tasks repeat no training prompt. A run
resumes after its last finished iteration. The reports also go to
``self_rewarding_report.json`` and the held-out curve to ``self_rewarding_curve.json``/``.png``.
"""

from __future__ import annotations

import json
import math
import shutil
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import rewardgym.envs  # noqa: F401  (registers the ids)
from rewardgym.envs.datasets import split_rows
from rewardgym.integrations.trl_env_reward import EnvReward
from rewardgym.integrations.trl_reward import RewardFunction
from rewardgym.progress import progress_bar
from rewardgym.trainers.curves import complete, heldout_reward, write_curve
from rewardgym.trainers.runs import SelfRewardingRun
from rewardgym.trainers.self_judging import (
    agreement,
    build_pairs,
    mean_score,
    score_in_process,
    self_judge_spec,
)
from rewardgym.trainers.trl_args import common_trl_args

__all__ = ["finished_iterations", "train_self_rewarding"]


def finished_iterations(out: Path) -> list[dict[str, Any]]:
    """Reports of the iterations already finished in ``out`` (1, 2, ... without gaps)."""
    reports = []
    k = 1
    while (path := out / f"iteration-{k}" / "report.json").is_file():
        reports.append(json.loads(path.read_text(encoding="utf-8")))
        k += 1
    return reports


class _Loop:
    """One run's state: the environment's rows, rewards and the current model."""

    def __init__(self, run: SelfRewardingRun) -> None:
        self.run = run
        self.out = Path(run.output_dir)
        self.train_rows, self.heldout_rows = split_rows(
            run.env_id, run.env_kwargs, run.train_size, run.heldout_size
        )
        self.env_reward = EnvReward(run.env_id, run.env_kwargs, url=run.url)

    def prompts(self, k: int) -> list[dict[str, Any]]:
        n, size = self.run.prompts_per_iteration, len(self.train_rows)
        return [self.train_rows[(k - 1) * n % size + i % size] for i in range(n)]

    def sample(self, model: Any, tokenizer: Any, rows: list[dict[str, Any]]) -> list[str]:
        """``samples`` completions per row, row by row."""
        repeated = [row for row in rows for _ in range(self.run.samples)]
        return complete(
            model,
            tokenizer,
            repeated,
            max_new_tokens=self.run.max_new_tokens,
            temperature=self.run.temperature,
        )

    def judge(self, model_dir: str, rows: list[dict[str, Any]], texts: list[str]) -> list[Any]:
        judge = self.run.judge
        if judge == "self":
            return score_in_process(self_judge_spec(model_dir, self.run), rows, texts)
        if judge == "env":
            return self.env_reward(
                [r["prompt"] for r in rows], texts, task=[r["task"] for r in rows]
            )
        reward = RewardFunction(judge, self.run.url)
        return reward([r["prompt"] for r in rows], texts, reference=[r["reference"] for r in rows])

    def external(self, rows: list[dict[str, Any]], texts: list[str]) -> list[Any]:
        return self.env_reward([r["prompt"] for r in rows], texts, task=[r["task"] for r in rows])

    def heldout(self, model: Any, tokenizer: Any) -> dict[str, float]:
        """``heldout_reward`` (mean) and ``heldout_solved`` of greedy answers."""
        figures = heldout_reward(
            model,
            tokenizer,
            self.env_reward,
            self.heldout_rows,
            max_new_tokens=self.run.max_new_tokens,
        )
        return {"heldout_reward": figures["mean"], "heldout_solved": figures["solved"]}

    def dpo(self, model: Any, ref: Any, tokenizer: Any, pairs: list[dict[str, Any]], k: int) -> Any:
        import datasets
        import trl
        from transformers import PrinterCallback

        data = datasets.Dataset.from_list(
            [
                {
                    "prompt": p["prompt"],
                    "chosen": [{"role": "assistant", "content": p["chosen"]}],
                    "rejected": [{"role": "assistant", "content": p["rejected"]}],
                }
                for p in pairs
            ]
        )
        config = trl.DPOConfig(
            **common_trl_args(
                str(self.out / "trainer"), use_cpu=self.run.use_cpu, seed=self.run.seed + k
            ),
            beta=self.run.beta,
            learning_rate=self.run.learning_rate,
            num_train_epochs=self.run.epochs,
            per_device_train_batch_size=self.run.batch_size,
        )
        trainer = trl.DPOTrainer(
            model=model,
            ref_model=ref,
            args=config,
            train_dataset=data,
            processing_class=tokenizer,
        )
        trainer.remove_callback(PrinterCallback)  # the report keeps the losses
        trainer.train()
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        return trainer.model, losses


def train_self_rewarding(
    run: SelfRewardingRun, *, show_progress: bool = True
) -> list[dict[str, Any]]:
    """Run (or resume) the loop; returns every iteration's report (also written to disk)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    loop = _Loop(run)
    out = loop.out
    out.mkdir(parents=True, exist_ok=True)
    reports = finished_iterations(out)
    start = len(reports) + 1
    current = str(out / f"iteration-{start - 1}") if reports else run.model
    tokenizer = AutoTokenizer.from_pretrained(current)
    initial_path = out / "initial.json"
    with progress_bar(disable=not show_progress) as bar:
        job = bar.add_task("self-rewarding iterations", total=run.iterations, completed=start - 1)
        if not initial_path.is_file():
            bar.update(job, description="held-out reward of the initial model")
            model = AutoModelForCausalLM.from_pretrained(run.model)
            initial = loop.heldout(model, tokenizer) if run.external else {}
            initial_path.write_text(json.dumps(initial, indent=2) + "\n", encoding="utf-8")
        for k in range(start, run.iterations + 1):
            set_seed(run.seed + k)
            started = time.perf_counter()
            model = AutoModelForCausalLM.from_pretrained(current)
            rows = loop.prompts(k)
            bar.update(job, description=f"iteration {k}: sampling")
            texts = loop.sample(model, tokenizer, rows)
            sample_rows = [row for row in rows for _ in range(run.samples)]
            bar.update(job, description=f"iteration {k}: judging")
            scores = loop.judge(current, sample_rows, texts)
            groups = [
                (
                    rows[i]["prompt"],
                    list(
                        zip(
                            texts[i * run.samples : (i + 1) * run.samples],
                            scores[i * run.samples : (i + 1) * run.samples],
                            strict=True,
                        )
                    ),
                )
                for i in range(len(rows))
            ]
            pairs = build_pairs(
                groups, min_margin=run.min_margin, length_control=run.length_control
            )
            report: dict[str, Any] = {
                "iteration": k,
                "prompts": len(rows),
                "samples": len(texts),
                "judge": run.judge,
                "mean_judge_score": mean_score(scores),
                "unscored": sum(s is None or math.isnan(float(s)) for s in scores),
                "pairs": len(pairs),
                "mean_length": statistics.fmean(len(t) for t in texts) if texts else 0.0,
                "mean_chosen_length": mean_score([len(p["chosen"]) for p in pairs]),
                "mean_rejected_length": mean_score([len(p["rejected"]) for p in pairs]),
            }
            if run.external:
                external = loop.external(sample_rows, texts)
                by_text = {
                    (i // run.samples, text): value
                    for i, (text, value) in enumerate(zip(texts, external, strict=True))
                }
                report["mean_external_reward"] = mean_score(external)
                report["judge_agreement"] = agreement(pairs, by_text)
            bar.update(job, description=f"iteration {k}: DPO on {len(pairs)} pairs")
            target = out / f"iteration-{k}"
            if pairs:
                ref = (
                    AutoModelForCausalLM.from_pretrained(run.model)
                    if run.reference == "initial"
                    else None  # TRL copies the current model as the reference
                )
                model, losses = loop.dpo(model, ref, tokenizer, pairs, k)
                report["dpo_loss_first"], report["dpo_loss_last"] = losses[0], losses[-1]
            if run.external:
                bar.update(job, description=f"iteration {k}: held-out reward")
                report.update(loop.heldout(model, tokenizer))
            report["seconds"] = round(time.perf_counter() - started, 1)
            tmp = out / f".iteration-{k}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)  # an iteration is finished once its directory exists
            reports.append(report)
            current = str(target)
            bar.update(job, advance=1)
    loop.env_reward.close()
    _write_summary(run, out, reports, json.loads(initial_path.read_text(encoding="utf-8")))
    return reports


def _write_summary(
    run: SelfRewardingRun, out: Path, reports: list[dict[str, Any]], initial: dict[str, Any]
) -> None:
    body = {"run": asdict(run), "initial": initial, "iterations": reports}
    (out / "self_rewarding_report.json").write_text(
        json.dumps(body, indent=2) + "\n", encoding="utf-8"
    )
    heldout = [
        {
            "step": 0,
            "reward": initial.get("heldout_reward"),
            "solved": initial.get("heldout_solved"),
        }
    ] + [
        {
            "step": r["iteration"],
            "reward": r.get("heldout_reward"),
            "solved": r.get("heldout_solved"),
        }
        for r in reports
    ]
    train = [
        {"step": r["iteration"], "reward": r["mean_external_reward"]}
        for r in reports
        if r.get("mean_external_reward") is not None
    ]
    curve = {
        "train": train,
        "train_label": "external reward of the iteration's samples (before its DPO)",
        "heldout": [p for p in heldout if p["reward"] is not None],
        "x_label": "self-rewarding iteration",
    }
    write_curve(curve, out, "self_rewarding_curve", f"self-rewarding DPO on {run.env_id}")
