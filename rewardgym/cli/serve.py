"""``rewardgym serve``, ``serve-ray`` and ``healthcheck``: run the server, check it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from rewardgym.cli.options import ConfigOpt, console

__all__ = ["healthcheck", "serve", "serve_ray"]


def serve(
    host: Annotated[
        str | None, typer.Option(help="bind address [REWARDGYM_HOST; default 127.0.0.1]")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="HTTP port [REWARDGYM_PORT; default 8000]")
    ] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option(
            help="gRPC port; -1 serves HTTP only [REWARDGYM_GRPC_PORT, 'none' for off; "
            "default 50051]"
        ),
    ] = None,
    config: ConfigOpt = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning")] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text, or json: one object a line with the request id")
    ] = None,
) -> None:
    """Serve the rewards of a config over HTTP (FastAPI) and gRPC until SIGTERM/SIGINT (then
    in-flight calls finish). Every setting also reads REWARDGYM_<NAME> (docs/deploy.md lists them).

    Example: rewardgym serve --config rewards.yaml --port 8000 --grpc-port -1
    """
    from rewardgym.config import Settings
    from rewardgym.server.run import serve as run_server

    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "config": config,
            "log_level": log_level,
            "log_format": log_format,
        }.items()
        if v is not None
    }
    if grpc_port is not None:
        overrides["grpc_port"] = None if grpc_port < 0 else grpc_port
    settings = Settings(**overrides)
    grpc_text = f", gRPC {settings.host}:{settings.grpc_port}" if settings.grpc_port else ""

    def banner() -> None:  # once both ports listen: a bad config or a busy port prints none
        console.print(f"[bold]rewardgym[/] HTTP http://{settings.host}:{settings.port}{grpc_text}")

    try:
        run_server(settings, on_ready=banner)
    except OSError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc


def serve_ray(
    replicas: Annotated[int, typer.Option(min=1, help="replicas of the server")] = 2,
    address: Annotated[
        str | None,
        typer.Option(help="a running Ray cluster (ray://HOST:10001 or auto); default: a local one"),
    ] = None,
    host: Annotated[str, typer.Option(help="Ray Serve's HTTP proxy address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Ray Serve's HTTP proxy port")] = 8000,
    config: ConfigOpt = None,
    num_cpus: Annotated[
        int | None, typer.Option(help="CPUs of the local Ray instance (default: all)")
    ] = None,
) -> None:
    """Serve the HTTP API as a Ray Serve deployment of N replicas (pip install
    'rewardgym\\[ray]'), until interrupted. On a cluster, every node runs Ray Serve's proxy:
    put a load balancer in front of them. Settings come from REWARDGYM_* variables.

    Example: rewardgym serve-ray --replicas 4 --port 8000
    """
    import signal
    import time

    try:
        import ray
        from ray import serve
    except ImportError as exc:
        console.print("Ray Serve is not installed: pip install 'rewardgym[ray]'", markup=False)
        raise typer.Exit(2) from exc
    from rewardgym.server.ray_serve import rewardgym_deployment

    ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": host, "port": port})
    env = {"REWARDGYM_CONFIG": str(config.resolve())} if config else None
    serve.run(rewardgym_deployment(replicas=replicas, env=env), name="rewardgym", route_prefix="/")
    status = serve.status().applications["rewardgym"].deployments["rewardgym"]
    running = sum(n for state, n in status.replica_states.items() if str(state).endswith("RUNNING"))
    console.print(
        f"[bold]rewardgym[/] on Ray Serve: http://{host}:{port}, {running} replicas running"
    )
    stop = False

    def _stop(*_args: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop:
        time.sleep(0.5)
    serve.shutdown()
    ray.shutdown()


def healthcheck(
    url: Annotated[
        str | None, typer.Option(help="server URL (default: 127.0.0.1 on REWARDGYM_PORT)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the answer")] = 2.0,
) -> None:
    """Exit 0 when the server answers /readyz with 200 (rewards loaded, not draining), else 1.
    For container health checks (the Dockerfile's HEALTHCHECK, compose.yaml).

    Example: rewardgym healthcheck --url http://127.0.0.1:8000
    """
    import httpx

    from rewardgym.config import Settings

    target = url or f"http://127.0.0.1:{Settings().port}"
    try:
        response = httpx.get(f"{target.rstrip('/')}/readyz", timeout=timeout)
    except httpx.HTTPError as exc:
        console.print(f"not reachable: {target}: {exc}")
        raise typer.Exit(1) from exc
    console.print(f"{response.status_code} {response.text[:200]}")
    raise typer.Exit(0 if response.status_code == 200 else 1)
