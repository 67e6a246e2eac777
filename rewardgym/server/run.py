"""Run the HTTP and gRPC fronts in one process, one event loop, one RewardService."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from rewardgym.config import Settings
from rewardgym.server.app import create_app
from rewardgym.server.service import RewardService

__all__ = ["serve"]

log = logging.getLogger(__name__)


async def _serve(settings: Settings) -> None:
    service = RewardService.from_settings(settings)
    await service.start()
    grpc_server = None
    if settings.grpc_port is not None:
        from rewardgym.server.grpc import start_grpc_server

        grpc_server, bound = await start_grpc_server(service, settings.host, settings.grpc_port)
        log.info("gRPC on %s:%d", settings.host, bound)
    config = uvicorn.Config(
        create_app(service, settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        if grpc_server is not None:
            await grpc_server.stop(grace=5)


def serve(settings: Settings | None = None) -> None:
    """Serve until interrupted (SIGINT/SIGTERM finish in-flight requests first)."""
    settings = settings or Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(_serve(settings))
