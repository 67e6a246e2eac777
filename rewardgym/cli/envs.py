"""``rewardgym envs``: list the registered environments, serve one over OpenEnv."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rewardgym.cli.options import EnvKwargsOpt, UrlOpt, check_env, console, parse_env_kwargs

__all__ = ["envs_app"]

envs_app = typer.Typer(
    help="rewardgym's Gymnasium environments: list them, or serve one over OpenEnv.",
    no_args_is_help=True,
)


@envs_app.command("list")
def list_envs() -> None:
    """The registered environment ids and what each is.

    Example: rewardgym envs list
    """
    from rewardgym.envs.registration import ENV_IDS

    table = Table("id", "what")
    for env_id, entry in sorted(ENV_IDS.items()):
        module, _, name = entry.partition(":")
        doc = ""
        try:
            import importlib

            cls = getattr(importlib.import_module(module), name)
            doc = (cls.__doc__ or "").strip().splitlines()[0]
        except (ImportError, AttributeError, IndexError):
            pass
        table.add_row(env_id, doc)
    console.print(table)


@envs_app.command("serve")
def serve_env(
    env_id: Annotated[str, typer.Argument(help="a registered id, e.g. rewardgym/MultiStep-v0")],
    port: Annotated[int, typer.Option(help="HTTP and WebSocket port")] = 8001,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    max_sessions: Annotated[
        int, typer.Option(min=1, help="concurrent sessions; beyond: a capacity error at once")
    ] = 16,
    env_kwargs: EnvKwargsOpt = "{}",
    url: UrlOpt = None,
    session_ttl: Annotated[
        float,
        typer.Option(
            min=1, help="seconds a session may sit idle before it is closed and its slot freed"
        ),
    ] = 600.0,
    session_max_age: Annotated[
        float | None,
        typer.Option(min=1, help="seconds a session may last in all (default: no bound)"),
    ] = None,
    ws_compression: Annotated[
        bool,
        typer.Option(
            help="compress WebSocket messages (permessage-deflate): less traffic over a slow "
            "link, more CPU per step; off suits loopback and a data-centre network"
        ),
    ] = False,
) -> None:
    """Serve one environment over OpenEnv's protocol (reset, step, state; WebSocket sessions,
    one environment each) for OpenEnv clients and trainers (pip install 'rewardgym\\[openenv]').
    Rewards are scored in this process, or on a reward server with --url.

    Example: rewardgym envs serve rewardgym/ToolUse-v0 --port 8001 --max-sessions 32
    """
    check_env(env_id)
    kwargs = parse_env_kwargs(env_kwargs)
    try:
        from rewardgym.integrations.openenv import create_openenv_app
    except ImportError as exc:
        hint = f"openenv-core is not installed: pip install 'rewardgym[openenv]' ({exc})"
        console.print(hint, markup=False)
        raise typer.Exit(2) from exc
    import uvicorn

    app = create_openenv_app(
        env_id,
        max_sessions=max_sessions,
        url=url,
        env_kwargs=kwargs,
        session_ttl_s=session_ttl,
        session_max_age_s=session_max_age,
    )
    console.print(
        f"[bold]rewardgym[/] {env_id} over OpenEnv: http://{host}:{port} "
        f"(ws://{host}:{port}/ws), at most {max_sessions} sessions"
    )
    uvicorn.run(
        app, host=host, port=port, log_level="warning", ws_per_message_deflate=ws_compression
    )
