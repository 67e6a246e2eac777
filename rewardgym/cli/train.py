"""``rewardgym train``: GRPO through an environment, and the self-rewarding DPO loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rewardgym.cli.options import (
    EnvKwargsOpt,
    EnvOpt,
    UrlOpt,
    check_env,
    console,
    has_gpu,
    parse_env_kwargs,
)
from rewardgym.trainers.runs import GRPORun, RewardModelRun, SelfRewardingRun

__all__ = ["train_app"]

train_app = typer.Typer(
    help="Train a causal LM with rewardgym rewards (needs the train extra: "
    "pip install 'rewardgym\\[train]').",
    no_args_is_help=True,
)

# One default each: the run dataclasses' fields (what the Python API uses too).
G, S, R = GRPORun, SelfRewardingRun, RewardModelRun

ModelOpt = Annotated[
    Path,
    typer.Option("--model", "-m", help="the starting model: a local directory", exists=True),
]
OutputOpt = Annotated[Path, typer.Option("--output", "-o", help="where models and reports go")]


@train_app.command("grpo")
def grpo(
    env: EnvOpt,
    model: ModelOpt,
    output: OutputOpt,
    env_kwargs: EnvKwargsOpt = "{}",
    url: UrlOpt = None,
    steps: Annotated[int, typer.Option(help="GRPO optimiser steps", min=1)] = G.max_steps,
    train_size: Annotated[
        int, typer.Option(help="training tasks (the first N)", min=1)
    ] = G.train_size,
    heldout_size: Annotated[
        int, typer.Option(help="held-out tasks (the next N), never trained on", min=1)
    ] = G.heldout_size,
    batch_size: Annotated[int, typer.Option(help="completions per step", min=2)] = G.batch_size,
    num_generations: Annotated[
        int, typer.Option(help="completions per prompt", min=2)
    ] = G.num_generations,
    max_completion_length: Annotated[
        int, typer.Option(help="tokens per completion", min=1)
    ] = G.max_completion_length,
    lr: Annotated[float, typer.Option(help="learning rate")] = G.learning_rate,
    temperature: Annotated[float, typer.Option(help="sampling temperature")] = G.temperature,
    beta: Annotated[float, typer.Option(help="KL coefficient (0: no reference model)")] = G.beta,
    eval_every: Annotated[
        int, typer.Option(help="held-out evaluation every N steps (0: start and end only)")
    ] = G.eval_every,
    seed: Annotated[int, typer.Option(help="seed of sampling and training")] = G.seed,
    cpu: Annotated[bool, typer.Option(help="train on the CPU even if a GPU is present")] = False,
) -> None:
    """GRPO (TRL) with rewards from a rewardgym environment: single-turn and multi-step
    through a reward function, multi-turn and tool use (MultiTurn, ToolUse) through TRL's
    environment_factory.

    Writes grpo_curve.json + grpo_curve.png (training and held-out reward over steps),
    grpo_report.json and the trained model (model/) under --output.

    Example: rewardgym train grpo --env rewardgym/ReasoningGym-v0 --model ./policy --output grpo
    """
    from rewardgym.trainers.grpo import train_grpo

    check_env(env)
    report = train_grpo(
        GRPORun(
            env_id=env,
            model=str(model),
            output_dir=str(output),
            env_kwargs=parse_env_kwargs(env_kwargs),
            url=url,
            train_size=train_size,
            heldout_size=heldout_size,
            max_steps=steps,
            batch_size=batch_size,
            num_generations=num_generations,
            max_completion_length=max_completion_length,
            learning_rate=lr,
            temperature=temperature,
            beta=beta,
            eval_every=eval_every,
            seed=seed,
            use_cpu=cpu or not has_gpu(),
        )
    )
    table = Table(title=f"GRPO through {env}")
    table.add_column("metric")
    table.add_column("value")
    for key in ("steps", "heldout_start", "heldout_end", "seconds", "curve_png", "model_dir"):
        value = report[key]
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)


@train_app.command("self-rewarding")
def self_rewarding(
    model: ModelOpt,
    output: OutputOpt,
    env: EnvOpt = S.env_id,
    env_kwargs: EnvKwargsOpt = "{}",
    judge: Annotated[
        str,
        typer.Option(
            help="'self' (the model judges its samples with the additive 5-point rubric), "
            "'env' (the environment's reward), a reward name, or an inline spec as JSON"
        ),
    ] = str(S.judge),
    url: UrlOpt = None,
    iterations: Annotated[
        int, typer.Option(help="iterations in all (resumes)", min=1)
    ] = S.iterations,
    prompts_per_iteration: Annotated[
        int, typer.Option(help="prompts each iteration", min=1)
    ] = S.prompts_per_iteration,
    train_size: Annotated[
        int, typer.Option(help="training tasks (the first N)", min=1)
    ] = S.train_size,
    heldout_size: Annotated[
        int, typer.Option(help="held-out tasks (the next N)", min=1)
    ] = S.heldout_size,
    samples: Annotated[int, typer.Option(help="responses sampled per prompt", min=2)] = S.samples,
    temperature: Annotated[
        float, typer.Option(help="sampling temperature", min=0.01)
    ] = S.temperature,
    max_new_tokens: Annotated[
        int, typer.Option(help="tokens per response", min=1)
    ] = S.max_new_tokens,
    judge_samples: Annotated[
        int, typer.Option(help="self judge: judgments averaged per response", min=1)
    ] = S.judge_samples,
    judge_verdict: Annotated[
        str, typer.Option(help="self judge: text, json or logprobs (score-token probabilities)")
    ] = S.judge_verdict,
    min_margin: Annotated[
        float, typer.Option(help="drop pairs whose score margin is this or less")
    ] = S.min_margin,
    length_control: Annotated[
        bool, typer.Option(help="shortest best vs longest worst response")
    ] = S.length_control,
    beta: Annotated[float, typer.Option(help="DPO beta")] = S.beta,
    reference: Annotated[
        str, typer.Option(help="DPO reference: 'previous' model or the 'initial' one")
    ] = S.reference,
    lr: Annotated[float, typer.Option(help="DPO learning rate")] = S.learning_rate,
    epochs: Annotated[
        float, typer.Option(help="DPO epochs over each iteration's pairs")
    ] = S.epochs,
    batch_size: Annotated[int, typer.Option(help="DPO pairs per step", min=1)] = S.batch_size,
    external: Annotated[
        bool,
        typer.Option(help="measure the environment's reward: agreement and held-out reward"),
    ] = S.external,
    seed: Annotated[int, typer.Option(help="seed of sampling and training")] = S.seed,
    cpu: Annotated[bool, typer.Option(help="train on the CPU even if a GPU is present")] = False,
) -> None:
    """Self-rewarding iterative DPO: sample, judge, pair, DPO, repeat.

    Each iteration is saved to --output/iteration-K/ (model + report.json); running again
    with the same --output resumes after the last finished iteration. The reports are also
    in self_rewarding_report.json, the held-out curve in self_rewarding_curve.json/.png.

    Example: rewardgym train self-rewarding --model ./policy --output runs/sr --iterations 3
    """
    from rewardgym.trainers.self_rewarding import train_self_rewarding

    check_env(env)
    if judge_verdict not in ("text", "json", "logprobs"):
        raise typer.BadParameter("--judge-verdict is text, json or logprobs")
    if reference not in ("previous", "initial"):
        raise typer.BadParameter("--reference is previous or initial")
    judge_value: str | dict[str, Any] = judge
    if judge.lstrip().startswith("{"):
        judge_value = parse_env_kwargs(judge)
    run = SelfRewardingRun(
        model=str(model),
        output_dir=str(output),
        env_id=env,
        env_kwargs=parse_env_kwargs(env_kwargs),
        judge=judge_value,
        url=url,
        iterations=iterations,
        prompts_per_iteration=prompts_per_iteration,
        train_size=train_size,
        heldout_size=heldout_size,
        samples=samples,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        judge_samples=judge_samples,
        judge_verdict=judge_verdict,  # type: ignore[arg-type]
        min_margin=min_margin,
        length_control=length_control,
        beta=beta,
        reference=reference,  # type: ignore[arg-type]
        learning_rate=lr,
        epochs=epochs,
        batch_size=batch_size,
        external=external,
        seed=seed,
        use_cpu=cpu or not has_gpu(),
    )
    reports = train_self_rewarding(run)
    table, warnings = self_rewarding_summary(reports, output)
    console.print(table)
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if reports and all(r["pairs"] == 0 for r in reports):
        console.print("[red]error:[/] no iteration made a pair, so the model was not trained")
        raise typer.Exit(1)


def self_rewarding_summary(reports: list[dict[str, Any]], output: Path) -> tuple[Table, list[str]]:
    """The run's table (one row an iteration) and a warning for each iteration that made no
    pairs, with why: unscored judgments (a judge that fails) or equal scores."""
    table = Table(title=f"self-rewarding DPO ({len(reports)} iterations) -> {output}")
    for col in ("iteration", "pairs", "unscored", "mean judge", "agreement", "held-out reward"):
        table.add_column(col)
    warnings = []
    for r in reports:
        unscored = f"{r.get('unscored', 0)}/{r.get('samples', '?')}"
        table.add_row(
            str(r["iteration"]),
            str(r["pairs"]),
            unscored,
            _fmt(r.get("mean_judge_score")),
            _fmt(r.get("judge_agreement")),
            _fmt(r.get("heldout_reward")),
        )
        if r["pairs"] == 0:
            why = (
                f"{unscored} judgments unscored: is the judge reachable and its verdicts readable?"
                if r.get("unscored")
                else "every prompt's samples scored alike (or within --min-margin)"
            )
            warnings.append(f"iteration {r['iteration']} made no pairs ({why}); no DPO step ran")
    return table, warnings


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


@train_app.command("reward-model")
def reward_model(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="preference pairs: JSONL (prompt, chosen, rejected) or LLMBar-style JSON "
            "(input, output_1, output_2, label)",
            exists=True,
            dir_okay=False,
        ),
    ],
    output: OutputOpt,
    backbone: Annotated[
        str | None,
        typer.Option(help="the starting encoder / LM (default: the shipped all-MiniLM-L6-v2)"),
    ] = None,
    eval_data: Annotated[
        list[Path] | None,
        typer.Option("--eval", help="extra pair files to report accuracy on (repeatable)"),
    ] = None,
    heldout_fraction: Annotated[
        float, typer.Option(help="share of --data held out for accuracy", min=0.01, max=0.9)
    ] = R.heldout_fraction,
    epochs: Annotated[float, typer.Option(help="passes over the training pairs")] = R.epochs,
    lr: Annotated[float, typer.Option(help="learning rate")] = R.learning_rate,
    batch_size: Annotated[int, typer.Option(help="pairs per step", min=1)] = R.batch_size,
    max_length: Annotated[
        int, typer.Option(help="tokens per text (the end is kept)")
    ] = R.max_length,
    seed: Annotated[int, typer.Option(help="seed of the split and training")] = R.seed,
    cpu: Annotated[bool, typer.Option(help="train on the CPU even if a GPU is present")] = False,
) -> None:
    """Train a Bradley-Terry reward model (TRL RewardTrainer) from preference pairs.

    The saved model in --output is what a `reward_model` reward loads by path; the report
    (reward_model_report.json) gives held-out pairwise accuracy before and after training.

    Example: rewardgym train reward-model --data pairs.jsonl --output runs/rm --epochs 2
    """
    from rewardgym.trainers.reward_model import train_reward_model

    report = train_reward_model(
        RewardModelRun(
            data=str(data),
            output_dir=str(output),
            backbone=backbone,
            eval_data=[str(p) for p in eval_data or []],
            heldout_fraction=heldout_fraction,
            epochs=epochs,
            learning_rate=lr,
            batch_size=batch_size,
            max_length=max_length,
            seed=seed,
            use_cpu=cpu or not has_gpu(),
        )
    )
    table = Table(title=f"reward model -> {output}")
    table.add_column("set")
    table.add_column("pairs")
    table.add_column("accuracy")
    table.add_row(
        "held-out (before training)",
        str(report["heldout_pairs"]),
        _fmt(report["heldout_accuracy_before"]),
    )
    table.add_row("held-out", str(report["heldout_pairs"]), _fmt(report["heldout_accuracy"]))
    for name, figures in report["eval"].items():
        table.add_row(name, str(figures["pairs"]), _fmt(figures["accuracy"]))
    console.print(table)
