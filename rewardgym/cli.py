"""The ``rewardgym`` command: serve, list rewards, score a JSONL file."""

from __future__ import annotations

import asyncio
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from rewardgym.cli_envs import envs_app
from rewardgym.cli_train import train_app
from rewardgym.progress import progress_bar

__all__ = ["app", "main"]

app = typer.Typer(
    help="rewardgym: rule, model and LLM-judge rewards for LLM training, over HTTP and gRPC.",
    no_args_is_help=True,
    add_completion=False,
)
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [REWARDGYM_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port [REWARDGYM_PORT]")] = None,
    grpc_port: Annotated[
        int | None, typer.Option(help="gRPC port, -1 to disable [REWARDGYM_GRPC_PORT]")
    ] = None,
    config: ConfigOpt = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning")] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text, or json: one object a line with the request id")
    ] = None,
) -> None:
    """Serve the rewards of a config over HTTP (FastAPI) and gRPC until SIGTERM/SIGINT (then
    in-flight calls finish). Every setting also reads REWARDGYM_<NAME> (see the README)."""
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
    console.print(f"[bold]rewardgym[/] HTTP http://{settings.host}:{settings.port}{grpc_text}")
    run_server(settings)


@app.command("serve-ray")
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
    'rewardgym[ray]'), until interrupted. On a cluster, every node runs Ray Serve's proxy:
    put a load balancer in front of them. Settings come from REWARDGYM_* variables."""
    import signal
    import time

    try:
        import ray
        from ray import serve
    except ImportError as exc:
        console.print("Ray Serve is not installed: pip install 'rewardgym[ray]'")
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


@app.command()
def healthcheck(
    url: Annotated[
        str | None, typer.Option(help="server URL (default: 127.0.0.1 on REWARDGYM_PORT)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the answer")] = 2.0,
) -> None:
    """Exit 0 when the server answers /readyz with 200 (rewards loaded, not draining), else 1.
    For container health checks (the Dockerfile's HEALTHCHECK, compose.yaml)."""
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


@app.command()
def rewards(config: ConfigOpt = None, url: UrlOpt = None) -> None:
    """List the named rewards (of a config, or of a running server) as a table."""
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


def _progress() -> Progress:
    """The progress bar every long command shows."""
    return progress_bar(console)


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


@app.command()
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
    """Score a JSONL file of items with one reward and write one result per line."""
    from rewardgym.schema import Item, Result

    raw = _read_items(input)
    try:
        items = [Item.model_validate(r) for r in raw]
    except Exception as exc:
        raise typer.BadParameter(f"{input}: {exc}") from exc
    results: list[Result] = []
    with _progress() as progress:
        task = progress.add_task(f"scoring with {reward}", total=len(items))
        batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
        if url:
            from rewardgym.client import RewardClient

            with RewardClient(url) as client:
                for batch in batches:
                    results.extend(client.score(reward, batch))
                    progress.advance(task, len(batch))
        else:
            results = asyncio.run(_score_in_process(reward, batches, config, progress, task))
    with output.open("w", encoding="utf-8") as fh:
        for result in results:
            fh.write(result.model_dump_json(exclude_none=True) + "\n")
    _summary(results, output)


async def _score_in_process(
    reward: str, batches: list[Any], config: Path | None, progress: Progress, task: Any
) -> list[Any]:
    from rewardgym.config import Settings
    from rewardgym.schema import ScoreRequest
    from rewardgym.server.service import RewardService

    service = RewardService.from_settings(Settings(config=config))
    out = []
    try:
        for batch in batches:
            response = await service.score(ScoreRequest(reward=reward, items=batch))
            out.extend(response.results)
            progress.advance(task, len(batch))
    finally:
        await service.aclose()
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


eval_app = typer.Typer(help="Evaluate rewards against labelled data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")
app.add_typer(envs_app, name="envs")


@eval_app.command("judge")
def eval_judge(
    reward: Annotated[str, typer.Option("--reward", "-r", help="a pairwise reward's name")],
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            help="LLMBar-style JSON or JSONL pairs "
            "(prompt + chosen/rejected or response_a/response_b/label)",
            exists=True,
            dir_okay=False,
        ),
    ],
    config: ConfigOpt = None,
    limit: Annotated[int | None, typer.Option(help="only the first N pairs", min=1)] = None,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="write a JSON report")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="pairs per call", min=1)] = 32,
) -> None:
    """Measure a pairwise judge: accuracy, position consistency, ties, parse errors, latency."""
    from rewardgym.evals.judge import load_pairs, report

    try:
        pairs = load_pairs(data)[:limit]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    with _progress() as progress:
        task = progress.add_task(f"judging with {reward}", total=len(pairs))
        results = asyncio.run(
            _compare_in_process(reward, pairs, config, batch_size, progress, task)
        )
    figures = report(pairs, results)
    table = Table(title=f"{reward} on {data.name} ({figures.pairs} pairs)")
    table.add_column("metric")
    table.add_column("value")
    for key, value in figures.to_dict().items():
        table.add_row(key, "-" if value is None else f"{value:.4g}")
    console.print(table)
    if report_path is not None:
        body = {"reward": reward, "data": str(data), **figures.to_dict()}
        report_path.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        console.print(f"report -> {report_path}")


async def _compare_in_process(
    reward: str,
    pairs: list[Any],
    config: Path | None,
    batch_size: int,
    progress: Progress,
    task: Any,
) -> list[Any]:
    from rewardgym.config import Settings
    from rewardgym.schema import CompareRequest
    from rewardgym.server.service import RewardService

    service = RewardService.from_settings(Settings(config=config))
    out = []
    try:
        for start in range(0, len(pairs), batch_size):
            batch = pairs[start : start + batch_size]
            request = CompareRequest(reward=reward, items=[p.item() for p in batch])
            out.extend((await service.compare(request)).results)
            progress.advance(task, len(batch))
    finally:
        await service.aclose()
    return out


def main() -> None:
    """Console entry point."""
    from rewardgym.errors import RewardGymError

    try:
        app()
    except RewardGymError as exc:
        console.print(f"[red]error:[/] {exc.message}")
        detail = exc.detail
        if detail:
            console.print(detail)
        raise SystemExit(2) from exc
