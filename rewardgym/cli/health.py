"""``rewardgym health``: a running server's rewards, are they still healthy?"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from rewardgym.cli.options import console

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
)


def _cell(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)


def health(
    url: Annotated[str, typer.Option("--url", help="the server, e.g. http://127.0.0.1:8000")],
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON instead")] = False,
) -> None:
    """Each reward's health over its recent results on a running server: drift of its scores
    against its first ones (PSI > 0.25 or KS > 0.3: shifted), saturation (shares at the
    maximum and minimum), length bias (Spearman r of score with response length), failed
    items, and for preference judges the share of verdicts that flipped with the order.
    One row per reward (source *) and per data source (items' metadata.data_source).

    Example: rewardgym health --url http://127.0.0.1:8000
    """
    from rewardgym.client import RewardClient

    with RewardClient(url) as client:
        windows = client.reward_health()
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
