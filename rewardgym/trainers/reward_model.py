"""Train a Bradley-Terry reward model from preference pairs with TRL's ``RewardTrainer``.

Pairs come from JSONL (``prompt, chosen, rejected``, or ``response_a/response_b/label``) or
LLMBar-style JSON (``input, output_1, output_2, label``), read by the same loader as ``eval
judge``. Texts are built and tokenized exactly as the ``reward_model`` reward builds them when
serving (``rm_text``, the end kept when too long), so the saved model scores what it was
trained on. A seeded share of the pairs is held out; the report gives held-out pairwise
accuracy (chosen scored above rejected) and the accuracy on any extra evaluation sets.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rewardgym.evals.judge import LabelledPair, load_pairs
from rewardgym.judges.models.sequence import batched_logits
from rewardgym.judges.models.text import rm_text
from rewardgym.progress import progress_bar
from rewardgym.trainers.runs import RewardModelRun
from rewardgym.trainers.trl_args import common_trl_args

__all__ = ["pair_accuracy", "train_reward_model"]


def _chosen_rejected(pair: LabelledPair) -> tuple[str, str]:
    better = pair.responses[pair.better]
    worse = pair.responses[1 - pair.better]
    return better, worse


def _encode(tokenizer: Any, prompt: str, response: str, max_length: int) -> list[int]:
    tokenizer.truncation_side = "left"  # as the reward_model reward reads it
    text = rm_text(tokenizer, prompt, response)
    return list(tokenizer(text, truncation=True, max_length=max_length)["input_ids"])


def pair_accuracy(
    model: Any, tokenizer: Any, pairs: list[LabelledPair], max_length: int
) -> float | None:
    """The share of pairs whose better response the model scores higher (ties count half)."""
    usable = [p for p in pairs if p.better in (0, 1)]
    if not usable:
        return None
    texts = []
    for pair in usable:
        chosen, rejected = _chosen_rejected(pair)
        texts += [
            rm_text(tokenizer, pair.prompt, chosen),
            rm_text(tokenizer, pair.prompt, rejected),
        ]
    was_training = model.training
    model.eval()
    try:
        scored = batched_logits(
            model, tokenizer, texts, max_length=max_length, max_batch_tokens=8192
        )
    finally:
        model.train(was_training)
    wins = 0.0
    for i in range(len(usable)):
        a, b = scored[2 * i][0][0], scored[2 * i + 1][0][0]
        wins += 1.0 if a > b else 0.5 if a == b else 0.0
    return wins / len(usable)


def train_reward_model(run: RewardModelRun, *, show_progress: bool = True) -> dict[str, Any]:
    """Train, save to ``output_dir`` (loadable by the ``reward_model`` reward) and report."""
    import datasets
    import trl
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        PrinterCallback,
        TrainerCallback,
        set_seed,
    )

    from rewardgym.judges.models.embedding import default_embedding_model

    set_seed(run.seed)
    backbone = run.backbone or default_embedding_model()
    pairs = [p for p in load_pairs(Path(run.data)) if p.better in (0, 1)]
    if len(pairs) < 4:
        raise ValueError(f"{run.data}: {len(pairs)} labelled pairs; at least 4 are needed")
    order = list(range(len(pairs)))
    random.Random(run.seed).shuffle(order)
    n_heldout = max(1, round(len(pairs) * run.heldout_fraction))
    heldout = [pairs[i] for i in order[:n_heldout]]
    train = [pairs[i] for i in order[n_heldout:]]

    tokenizer = AutoTokenizer.from_pretrained(backbone)
    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=1)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    rows = []
    for pair in train:
        chosen, rejected = _chosen_rejected(pair)
        rows.append(
            {
                "chosen_ids": _encode(tokenizer, pair.prompt, chosen, run.max_length),
                "rejected_ids": _encode(tokenizer, pair.prompt, rejected, run.max_length),
            }
        )
    out = Path(run.output_dir)
    config = trl.RewardConfig(
        **common_trl_args(str(out / "trainer"), use_cpu=run.use_cpu, seed=run.seed),
        num_train_epochs=run.epochs,
        learning_rate=run.learning_rate,
        per_device_train_batch_size=run.batch_size,
        max_length=run.max_length,
    )
    started = time.perf_counter()
    before = pair_accuracy(model, tokenizer, heldout, run.max_length)
    with progress_bar(disable=not show_progress) as bar:

        class _Tick(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
                bar.update(job, completed=state.global_step, total=state.max_steps)

        job = bar.add_task("reward model (Bradley-Terry) steps", total=None)
        trainer = trl.RewardTrainer(
            model=model,
            args=config,
            train_dataset=datasets.Dataset.from_list(rows),
            processing_class=tokenizer,
            callbacks=[_Tick()],
        )
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    model = trainer.model
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    report: dict[str, Any] = {
        "run": asdict(run),
        "backbone": backbone,
        "train_pairs": len(train),
        "heldout_pairs": len(heldout),
        "heldout_accuracy_before": before,
        "heldout_accuracy": pair_accuracy(model, tokenizer, heldout, run.max_length),
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
        "steps": trainer.state.global_step,
        "seconds": round(time.perf_counter() - started, 1),
        "eval": {},
    }
    for path in run.eval_data:
        extra = [p for p in load_pairs(Path(path)) if p.better in (0, 1)]
        report["eval"][Path(path).stem] = {
            "pairs": len(extra),
            "accuracy": pair_accuracy(model, tokenizer, extra, run.max_length),
        }
    (out / "reward_model_report.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    return report
