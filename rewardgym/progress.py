"""The one progress bar every long job shows (CLI commands, rollouts, evaluations, training):
what it does, the bar, done/total, the rate, the time elapsed and the time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["RateColumn", "progress_bar"]


class RateColumn(ProgressColumn):
    """Units done per second (items, pairs, steps), or per minute when slower than one a
    second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("-/s", style="progress.data.speed")
        if speed < 1:
            return Text(f"{speed * 60:.1f}/min", style="progress.data.speed")
        return Text(f"{speed:,.1f}/s", style="progress.data.speed")


def progress_bar(console: Console | None = None, *, disable: bool = False) -> Progress:
    """A rich progress bar: description, bar, done/total, rate, elapsed, ETA."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=console, disable=disable)
