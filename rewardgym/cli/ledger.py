"""``rewardgym rescore`` and ``rewardgym replay``: stored rollouts scored again."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from rewardgym.cli.options import ConfigOpt, UrlOpt, console, progress

if TYPE_CHECKING:
    from rewardgym.evals.rescore import Comparison, RescoreReport, Rollout
    from rewardgym.schema import Result, RewardSpec

__all__ = ["replay", "rescore"]

FromOpt = Annotated[
    str,
    typer.Option(
        "--from",
        help="a ledger (a SQLite file such as ~/.cache/rewardgym/ledger.sqlite, redis://..., "
        "postgresql://...) or a JSONL file of items with their old 'score'",
    ),
]
LimitOpt = Annotated[int, typer.Option("--limit", help="the newest rollouts at most", min=1)]


def _reward_ref(text: str) -> str | RewardSpec:
    from rewardgym.schema import RewardSpec

    if text.lstrip().startswith("{"):
        try:
            return RewardSpec.model_validate_json(text)
        except ValueError as exc:
            raise typer.BadParameter(f"--reward: not a reward spec: {exc}") from exc
    return text


def _score_all(
    ref: str | RewardSpec, rollouts: list[Rollout], config: Path | None, url: str | None
) -> list[Result]:
    items = [r.item for r in rollouts]
    batches = [items[i : i + 256] for i in range(0, len(items), 256)]
    results: list[Result] = []
    with progress() as bar:
        task = bar.add_task("re-scoring", total=len(items))
        if url:
            from rewardgym.client import RewardClient

            with RewardClient(url) as client:
                for batch in batches:
                    results.extend(client.score(ref, batch))
                    bar.advance(task, len(batch))
            return results

        async def run() -> None:
            from rewardgym.config import Settings
            from rewardgym.schema import ScoreRequest
            from rewardgym.service import RewardService

            async with RewardService.running(Settings(config=config)) as service:
                for batch in batches:
                    response = await service.score(ScoreRequest(reward=ref, items=batch))
                    results.extend(response.results)
                    bar.advance(task, len(batch))

        asyncio.run(run())
    return results


def _row(name: str, c: Comparison) -> list[str]:
    def num(value: float | None, form: str) -> str:
        return "-" if value is None else form.format(value)

    return [
        name,
        str(c.items),
        num(c.agreement, "{:.1%}"),
        str(c.pass_to_fail),
        str(c.fail_to_pass),
        str(c.changed),
        num(c.mean_delta, "{:+.3f}"),
        f"{c.newly_failed}/{c.newly_scored}",
    ]


_HEADERS = ("source", "items", "agree", "p->f", "f->p", "moved", "mean d", "err+/-")


def _print_report(report: RescoreReport, title: str) -> None:
    table = Table(
        title=title,
        caption="agree: same side of the threshold; p->f, f->p: flips; moved: score changed; "
        "mean d: mean new - old; err+/-: newly failed / newly scored",
    )
    for col in _HEADERS:
        table.add_column(col, justify="left" if col == "source" else "right", overflow="fold")
    table.add_row(*_row("all", report.overall))
    for source, comparison in report.by_source.items():
        table.add_row(*_row(source, comparison))
    console.print(table)


def rescore(
    source: FromOpt,
    reward: Annotated[
        str,
        typer.Option(
            "--reward",
            "-r",
            help='the new reward: a name, or a JSON spec such as \'{"type": "math", "params": '
            '{"strict": false}}\'',
        ),
    ],
    config: ConfigOpt = None,
    url: UrlOpt = None,
    old_reward: Annotated[
        str | None, typer.Option("--old-reward", help="from a ledger: only this reward's results")
    ] = None,
    limit: LimitOpt = 10_000,
    threshold: Annotated[float, typer.Option(help="a score at least this passes")] = 0.5,
    report: Annotated[Path | None, typer.Option("--report", help="write the JSON here")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="write a PNG here")] = None,
) -> None:
    """Score stored rollouts again with another reward (or a changed verifier) and report the
    difference: agreement on pass/fail, flips each way, score deltas, items that now fail
    or are now scored; per data source (items' metadata.data_source).

    Example: rewardgym rescore --from ~/.cache/rewardgym/ledger.sqlite --old-reward math
    --reward '{"type": "math", "params": {"strict": false}}' --plot rescore.png
    """
    from rewardgym.evals.rescore import compare_scores, read_rollouts

    rollouts = asyncio.run(read_rollouts(source, limit=limit, reward=old_reward))
    if not rollouts:
        console.print(f"no rollouts in {source}" + (f" for {old_reward}" if old_reward else ""))
        raise typer.Exit(1)
    new = _score_all(_reward_ref(reward), rollouts, config, url)
    result = compare_scores(rollouts, new, threshold)
    _print_report(result, f"{len(rollouts)} rollouts re-scored with {reward}")
    if report is not None:
        report.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        console.print(f"report: {report}")
    if plot is not None:
        from rewardgym.evals.rescore_plot import plot_rescore

        plot_rescore(result, plot, f"{old_reward or source} -> {reward}")
        console.print(f"plot: {plot}")


def replay(
    source: FromOpt,
    config: ConfigOpt = None,
    sample: Annotated[int, typer.Option("--sample", help="rollouts replayed at most", min=1)] = 200,
    limit: LimitOpt = 10_000,
    seed: Annotated[int, typer.Option(help="the sample's seed")] = 0,
    report: Annotated[Path | None, typer.Option("--report", help="write the JSON here")] = None,
) -> None:
    """Re-score a sample of a ledger's results with the same rewards (this process, with the
    server's --config) and flag every result that changed while its address did not: the
    reward is not deterministic. Results whose reward changed since (a new address) are
    counted apart. Exits 1 when any result changed.

    Example: rewardgym replay --from ~/.cache/rewardgym/ledger.sqlite --sample 500
    """
    from rewardgym.evals.rescore import is_ledger, read_rollouts

    if not is_ledger(source):
        raise typer.BadParameter("--from: replay reads a ledger (its records hold addresses)")
    rollouts = asyncio.run(read_rollouts(source, limit=limit))
    chosen = random.Random(seed).sample(rollouts, min(sample, len(rollouts)))
    outcome = asyncio.run(_replay(chosen, config))
    table = Table(title=f"replay of {len(chosen)} of {len(rollouts)} results in {source}")
    table.add_column("outcome")
    table.add_column("results", justify="right")
    table.add_row("same result, same address", str(outcome.same))
    table.add_row("[red]changed, same address[/]", str(len(outcome.changed)))
    table.add_row("reward changed since (new address)", str(outcome.moved))
    for why, count in sorted(outcome.unreplayable.items()):
        table.add_row(f"not replayed: {why}", str(count))
    console.print(table)
    for changed in outcome.changed[:20]:
        console.print(changed, markup=False)
    if report is not None:
        from dataclasses import asdict

        report.write_text(json.dumps(asdict(outcome), indent=2) + "\n")
        console.print(f"report: {report}")
    if outcome.changed:
        raise typer.Exit(1)


async def _replay(rollouts: list[Rollout], config: Path | None) -> Any:
    from rewardgym.config import Settings
    from rewardgym.evals.replay import replay as run_replay
    from rewardgym.service import RewardService

    async with RewardService.running(Settings(config=config)) as service:
        with progress() as bar:
            task = bar.add_task("replaying", total=len(rollouts))
            return await run_replay(service, rollouts, lambda n: bar.advance(task, n))
