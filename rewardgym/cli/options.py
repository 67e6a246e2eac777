"""Options and helpers the command groups share."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from rewardgym.progress import progress_bar

__all__ = [
    "ConfigOpt",
    "EnvKwargsOpt",
    "EnvOpt",
    "UrlOpt",
    "check_env",
    "console",
    "has_gpu",
    "parse_env_kwargs",
    "progress",
]

console = Console()

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="reward config YAML (default: the built-in config)",
        exists=True,
        dir_okay=False,
    ),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="a running server (e.g. http://127.0.0.1:8000); default: score in this process",
    ),
]

EnvOpt = Annotated[
    str,
    typer.Option(
        "--env",
        help="a registered environment id, e.g. rewardgym/ReasoningGym-v0 "
        "(its tasks are the prompts, its reward scores them)",
    ),
]
EnvKwargsOpt = Annotated[
    str,
    typer.Option(
        "--env-kwargs",
        help='the environment\'s arguments as JSON, e.g. \'{"task": "basic_arithmetic", '
        '"size": 1000}\'',
    ),
]


def progress() -> Progress:
    """The progress bar every long command shows."""
    return progress_bar(console)


def parse_env_kwargs(text: str) -> dict[str, Any]:
    """The ``--env-kwargs`` JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--env-kwargs is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("--env-kwargs must be a JSON object")
    return value


def check_env(env_id: str) -> None:
    """A clear error for an environment id that is not registered."""
    from rewardgym.envs.registration import ENV_IDS

    if env_id not in ENV_IDS:
        raise typer.BadParameter(f"unknown environment {env_id!r}; registered: {sorted(ENV_IDS)}")


def has_gpu() -> bool:
    """Whether torch sees a GPU (training commands default to it when one is there)."""
    import torch

    return bool(torch.cuda.is_available())
