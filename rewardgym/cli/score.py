"""``rewardgym rewards`` and ``rewardgym score``: list the rewards, score a JSONL file."""

from __future__ import annotations

import asyncio
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from rewardgym.cli.options import ConfigOpt, UrlOpt, console, progress

__all__ = ["rewards", "score"]


def rewards(
    config: ConfigOpt = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="list a running server's rewards (e.g. http://127.0.0.1:8000)"),
    ] = None,
) -> None:
    """List the named rewards (of a config, or of a running server) as a table.

    Example: rewardgym rewards --url http://127.0.0.1:8000
    """
    if url:
        from rewardgym.client import RewardClient

        with RewardClient(url) as client:
            infos = client.rewards()
    else:
        from rewardgym.config import load_reward_config
        from rewardgym.registry import RewardRegistry

        infos_registry = RewardRegistry(load_reward_config(config).rewards)
        infos = [infos_registry.info(n) for n in infos_registry.names()]
    table = Table(title="rewards")
    for col in ("name", "type", "basis", "format", "granularity", "description"):
        table.add_column(col)
    for info in infos:
        t = info.taxonomy
        table.add_row(info.name, info.type, t.basis, t.format, t.granularity, info.description)
    console.print(table)


def _read_items(path: Path) -> list[dict[str, Any]]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"{path}:{n} is not JSON: {exc}") from exc
    return items


def score(
    reward: Annotated[str, typer.Option("--reward", "-r", help="a reward name")],
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="JSONL of items {prompt, response, reference, ...}",
            exists=True,
            dir_okay=False,
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL of results, one per item")],
    config: ConfigOpt = None,
    url: UrlOpt = None,
    batch_size: Annotated[int, typer.Option(help="items per call", min=1)] = 256,
) -> None:
    """Score a JSONL file of items with one reward and write one result per line (a failed
    item's line has "score": null and its "error").

    Example: rewardgym score --reward math --input items.jsonl --output results.jsonl
    """
    from rewardgym.schema import Item, Result

    raw = _read_items(input)
    try:
        items = [Item.model_validate(r) for r in raw]
    except Exception as exc:
        raise typer.BadParameter(f"{input}: {exc}") from exc
    results: list[Result] = []
    with progress() as bar:
        task = bar.add_task(f"scoring with {reward}", total=len(items))
        batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
        if url:
            from rewardgym.client import RewardClient

            with RewardClient(url) as client:
                for batch in batches:
                    results.extend(client.score(reward, batch))
                    bar.advance(task, len(batch))
        else:
            results = asyncio.run(_score_in_process(reward, batches, config, bar, task))
    with output.open("w", encoding="utf-8") as fh:
        for result in results:
            # "score" is always there (null on a failed item, as over HTTP): row["score"] works
            row = {"score": None, **result.model_dump(mode="json", exclude_none=True)}
            fh.write(json.dumps(row) + "\n")
    _summary(results, output)


async def _score_in_process(
    reward: str, batches: list[Any], config: Path | None, bar: Progress, task: Any
) -> list[Any]:
    from rewardgym.config import Settings
    from rewardgym.schema import ScoreRequest
    from rewardgym.service import RewardService

    out = []
    async with RewardService.running(Settings(config=config)) as service:
        for batch in batches:
            response = await service.score(ScoreRequest(reward=reward, items=batch))
            out.extend(response.results)
            bar.advance(task, len(batch))
    return out


def _summary(results: list[Any], output: Path) -> None:
    scores = [r.score for r in results if r.score is not None]
    errors = Counter(r.error.type for r in results if r.error is not None)
    table = Table(title=f"{len(results)} results -> {output}")
    table.add_column("metric")
    table.add_column("value")
    table.add_row("scored", str(len(scores)))
    table.add_row("mean score", f"{statistics.fmean(scores):.4f}" if scores else "-")
    for kind, count in sorted(errors.items()):
        table.add_row(f"error: {kind}", str(count))
    console.print(table)
