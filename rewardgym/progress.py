"""The one progress bar every long job shows (CLI commands, rollouts, evaluations)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["progress_bar"]


def progress_bar(console: Console | None = None, *, disable: bool = False) -> Progress:
    """A rich progress bar: description, bar, done/total, elapsed time."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console, disable=disable)
