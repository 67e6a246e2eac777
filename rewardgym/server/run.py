"""Run the HTTP and gRPC fronts in one process, one event loop, one RewardService."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from rewardgym.config import Settings
from rewardgym.server.app import create_app
from rewardgym.server.logs import configure_logging
from rewardgym.service import RewardService

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

    on_stop: Callable[[], None] | None = None
    on_ready: Callable[[], None] | None = None
    busy: Callable[[], bool] = staticmethod(lambda: False)
    drain_s: float = 0.0
    _draining: asyncio.Task[None] | None = None

    def _stop_requested(self, sig: int) -> None:
        if self._draining is not None:
            if sig == signal.SIGINT:  # a second Ctrl-C: stop now
                self.should_exit = self.force_exit = True
            return
        log.info("%s: finishing in-flight calls, then stopping", signal.Signals(sig).name)
        if self.on_stop is not None:
            self.on_stop()
        self._draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Keep answering (new calls get 503 "shutting down" with Retry-After, so a client
        hears where to go instead of a refused connection) until the calls in flight are done
        or the grace period is over; then stop."""
        loop = asyncio.get_running_loop()
        self.stop_by = until = loop.time() + self.drain_s
        while self.busy() and loop.time() < until:
            await asyncio.sleep(0.05)
        # What is left of the grace period bounds uvicorn's own wait for open connections.
        self.config.timeout_graceful_shutdown = max(1, math.ceil(until - loop.time()))
        self.should_exit = True

    stop_by: float | None = None

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()

    def grace_left(self) -> float:
        """Seconds of the grace period left (all of it when no signal came)."""
        if self.stop_by is None:
            return self.drain_s
        return max(0.0, self.stop_by - asyncio.get_running_loop().time())


async def _serve(settings: Settings, on_ready: Callable[[], None] | None = None) -> None:
    service = RewardService.from_settings(settings)
    await service.start()
    grpc_server = None
    server: _Server | None = None
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
            log_config=None,  # keep the handlers configure_logging set
            access_log=False,  # RequestContext writes one line a request, with its id
            timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s) or None,
        )
        server = _Server(config)
        server.on_ready = on_ready  # the CLI's banner, once both ports listen
        server.on_stop = service.drain  # /readyz 503 at once: load balancers stop sending
        server.busy = lambda: service.in_flight > 0
        server.drain_s = settings.shutdown_grace_s
        await server.serve()  # returns after SIGINT/SIGTERM, in-flight HTTP done
    finally:
        if grpc_server is not None:
            grace = server.grace_left() if server is not None else settings.shutdown_grace_s
            await grpc_server.stop(grace=grace)  # in-flight calls finish, within the grace
        await service.aclose()
        log.info("stopped")


def serve(settings: Settings | None = None, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM; in-flight requests finish first, then workers are stopped.
    ``on_ready`` is called once both ports listen (the CLI's banner)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_serve(settings, on_ready))
