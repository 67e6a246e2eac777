"""Run the HTTP and gRPC fronts in one process, one event loop, one RewardService."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from rewardgym.config import Settings
from rewardgym.server.app import create_app
from rewardgym.server.service import RewardService

__all__ = ["serve"]

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn, except that SIGINT/SIGTERM only ask it to stop: uvicorn's own handling raises
    the signal again once HTTP is drained, which would kill the process before gRPC has
    finished its calls and the worker pools are closed."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop_requested, sig)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _stop_requested(self, sig: int) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for connections
        self.should_exit = True


async def _serve(settings: Settings) -> None:
    service = RewardService.from_settings(settings)
    await service.start()
    grpc_server = None
    try:
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
        await _Server(config).serve()  # returns after SIGINT/SIGTERM, in-flight HTTP done
    finally:
        if grpc_server is not None:
            await grpc_server.stop(grace=5)  # in-flight gRPC calls get 5 s to finish
        await service.aclose()


def serve(settings: Settings | None = None) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish first, then workers are stopped."""
    settings = settings or Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(_serve(settings))
