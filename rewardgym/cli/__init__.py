"""The ``rewardgym`` command: one module per command group.

- ``serve``, ``serve-ray``, ``healthcheck`` (``cli/serve.py``);
- ``rewards``, ``score`` (``cli/score.py``); ``health`` (``cli/health.py``); ``rescore``,
  ``replay`` (``cli/ledger.py``); ``eval judge`` (``cli/eval.py``);
- ``envs list|serve`` (``cli/envs.py``);
- ``train grpo|self-rewarding|reward-model`` (``cli/train.py``).
"""

from __future__ import annotations

import typer

from rewardgym.cli.envs import envs_app
from rewardgym.cli.eval import eval_app
from rewardgym.cli.health import health
from rewardgym.cli.ledger import replay, rescore
from rewardgym.cli.options import console
from rewardgym.cli.score import rewards, score
from rewardgym.cli.serve import healthcheck, serve, serve_ray
from rewardgym.cli.train import train_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="rewardgym: rule, model and LLM-judge rewards for LLM training, over HTTP and gRPC.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(serve)
app.command("serve-ray")(serve_ray)
app.command()(healthcheck)
app.command()(rewards)
app.command()(score)
app.command()(health)
app.command()(rescore)
app.command()(replay)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(envs_app, name="envs")


def main() -> None:
    """Console entry point."""
    from rich.markup import escape

    from rewardgym.errors import RewardGymError

    try:
        app()
    except RewardGymError as exc:
        console.print(f"[red]error:[/] {escape(exc.message)}")
        detail = exc.detail
        if detail:
            console.print(detail, markup=False)
        raise SystemExit(2) from exc
