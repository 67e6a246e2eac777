"""``rewardgym health``: a running server's rewards, are they still healthy?"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rewardgym.cli.options import console, progress

__all__ = ["health"]

_COLUMNS = (
    ("reward", "reward", "{}"),
    ("source", "source", "{}"),
    ("items", "items", "{}"),
    ("mean", "mean", "{:.3f}"),
    ("at max", "share_at_max", "{:.0%}"),
    ("at min", "share_at_min", "{:.0%}"),
    ("drift PSI", "drift_psi", "{:.3f}"),
    ("drift KS", "drift_ks", "{:.3f}"),
    ("length r", "length_correlation", "{:+.2f}"),
    ("failed", "failed_share", "{:.1%}"),
    ("flips", "flip_rate", "{:.0%}"),
    ("canary pass", "canary_pass_rate", "{:.0%}"),
    ("re-judge agree", "rejudge_agreement", "{:.0%}"),
    ("shadow disagree", "shadow_disagreement", "{:.0%}"),
)


def _cell(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)


def health(
    url: Annotated[str, typer.Option("--url", help="the server, e.g. http://127.0.0.1:8000")],
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON instead")] = False,
    plots: Annotated[
        Path | None,
        typer.Option("--plots", help="write one PNG per reward in this folder", file_okay=False),
    ] = None,
    snapshots: Annotated[
        int, typer.Option("--snapshots", help="take this many, --every seconds apart", min=1)
    ] = 1,
    every: Annotated[float, typer.Option("--every", help="seconds between snapshots", min=0)] = 10,
) -> None:
    """Each reward's health over its recent results on a running server: drift of its scores
    against its first ones (PSI > 0.25 or KS > 0.3: shifted), saturation (shares at the
    maximum and minimum), length bias (Spearman r of score with response length), failed
    items, for preference judges the share of verdicts that flipped with the order, and for
    LLM judges their audits (canary pass rate, re-judge agreement, shadow disagreement).
    One row per reward (source *) and per data source (items' metadata.data_source).
    --plots draws, per reward, the score distribution at its baseline and at each snapshot,
    score against length, the audit rates over time and the failures by type.

    Example: rewardgym health --url http://127.0.0.1:8000 --plots health/ --snapshots 6
    """
    from rewardgym.client import RewardClient

    taken: list[tuple[float, list[dict[str, Any]]]] = []
    with RewardClient(url) as client, progress() as bar:
        task = bar.add_task("snapshots", total=snapshots, visible=snapshots > 1)
        started = time.monotonic()
        for n in range(snapshots):
            if n:
                time.sleep(max(0.0, started + n * every - time.monotonic()))
            taken.append((time.monotonic() - started, client.reward_health()))
            bar.advance(task)
    windows = taken[-1][1]
    if plots is not None:
        from rewardgym.health.plots import plot_health

        for path in plot_health(taken, plots):
            console.print(f"plot: {path}")
    if as_json:
        console.print_json(json.dumps(windows))
        return
    table = Table(title=f"reward health at {url}")
    for title, _, _ in _COLUMNS:
        table.add_column(title, justify="left" if title in ("reward", "source") else "right")
    for window in windows:
        table.add_row(*(_cell(window.get(key), form) for _, key, form in _COLUMNS))
    console.print(table)
    if not windows:
        console.print("no reward has scored anything yet")
