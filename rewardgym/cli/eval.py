"""``rewardgym eval judge``: measure a pairwise judge on labelled pairs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from rewardgym.cli.options import ConfigOpt, console, progress

__all__ = ["eval_app"]

eval_app = typer.Typer(help="Evaluate rewards against labelled data.", no_args_is_help=True)


@eval_app.command("judge")
def eval_judge(
    reward: Annotated[str, typer.Option("--reward", "-r", help="a pairwise reward's name")],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="LLMBar-style JSON or JSONL pairs "
            "(prompt + chosen/rejected or response_a/response_b/label)",
            exists=True,
            dir_okay=False,
        ),
    ],
    config: ConfigOpt = None,
    limit: Annotated[int | None, typer.Option(help="only the first N pairs", min=1)] = None,
    report_path: Annotated[
        Path | None,
        typer.Option("--report", help="write a JSON report, and an HTML page beside it"),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="pairs per call", min=1)] = 32,
) -> None:
    """Measure a pairwise judge: accuracy, position consistency, ties, parse errors, latency.

    Example: rewardgym eval judge --reward pairwise_judge --data llmbar.json --report out.json
    """
    from rewardgym.evals.judge import load_pairs, report

    try:
        pairs = load_pairs(data)[:limit]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    with progress() as bar:
        task = bar.add_task(f"judging with {reward}", total=len(pairs))
        results = asyncio.run(_compare_in_process(reward, pairs, config, batch_size, bar, task))
    figures = report(pairs, results)
    table = Table(title=f"{reward} on {data.name} ({figures.pairs} pairs)")
    table.add_column("metric")
    table.add_column("value")
    for key, value in figures.figures().items():
        table.add_row(key, "-" if value is None else f"{value:.4g}")
    console.print(table)
    confusion = Table(title="gold against verdict")
    confusion.add_column("")
    for verdict in ("A", "B", "tie", "failed"):
        confusion.add_column(verdict, justify="right")
    for gold, counts in figures.confusion.items():
        confusion.add_row(gold, *(str(n) for n in counts.values()))
    console.print(confusion)
    if report_path is not None:
        from rewardgym.evals.judge_html import judge_html

        body = {"reward": reward, "data": str(data), **figures.to_dict()}
        report_path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        page = report_path.with_suffix(".html")
        page.write_text(judge_html(figures, reward, data.name), encoding="utf-8")
        console.print(f"report -> {report_path} and {page}")


async def _compare_in_process(
    reward: str,
    pairs: list[Any],
    config: Path | None,
    batch_size: int,
    bar: Progress,
    task: Any,
) -> list[Any]:
    from rewardgym.config import Settings
    from rewardgym.schema import CompareRequest
    from rewardgym.service import RewardService

    out = []
    async with RewardService.running(Settings(config=config)) as service:
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            request = CompareRequest(reward=reward, items=[p.item() for p in batch])
            out.extend((await service.compare(request)).results)
            bar.advance(task, len(batch))
    return out
