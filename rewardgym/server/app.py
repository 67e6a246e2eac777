"""Build the FastAPI app: thin routers over RewardService, errors mapped from one tree."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rewardgym.config import Settings
from rewardgym.errors import HttpProtocolError, InvalidRequestError, RewardGymError, ServerError
from rewardgym.schema import CompareRequest, ScoreRequest, StreamItem
from rewardgym.server.auth import ApiKeyAuth, Guard, KeyInPath
from rewardgym.server.json_body import add_body_schemas
from rewardgym.server.limits import BodySizeLimit
from rewardgym.server.logs import RequestContext
from rewardgym.server.routes import (
    health,
    ledger,
    metrics,
    nemo_gym,
    openrlhf,
    rewards,
    score,
    slime,
    stream,
)
from rewardgym.service import RewardService
from rewardgym.version import __version__

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(service: RewardService | None = None, settings: Settings | None = None) -> FastAPI:
    """The HTTP app. Without a service, one is built from ``settings`` (or the environment)
    and the app starts and closes it; a service passed in stays the caller's to close."""
    settings = settings or (service.settings if service else Settings())
    owns_service = service is None
    service = service or RewardService.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not service.ready:
            await service.start()
        yield
        if owns_service:
            await service.aclose()

    app = FastAPI(
        title="rewardgym",
        version=__version__,
        description="Rule, model and LLM-judge rewards for LLM training behind one schema.",
        lifespan=lifespan,
        # FastAPI's native tracing runs before any middleware, so it would record a key sent
        # in the path (KeyInPath) before it is cut; request ids and /metrics stand in.
        telemetry={"tracing": False},
    )
    app.state.service = service
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    guard = Guard.for_service(service)
    if guard.keys:
        app.add_middleware(ApiKeyAuth, guard=guard)
    app.add_middleware(RequestContext)  # every answer gets an id and an access line
    app.add_middleware(KeyInPath)  # outermost: a key in the path is gone before any log

    @app.exception_handler(RewardGymError)
    async def _rewardgym_error(_request: Request, exc: RewardGymError) -> JSONResponse:
        headers = {}
        if "retry_after_s" in exc.detail:
            headers["Retry-After"] = str(max(1, math.ceil(exc.detail["retry_after_s"])))
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        error = InvalidRequestError(f"invalid fields: {fields}", errors=errors[:50])
        return JSONResponse(error.to_dict(), status_code=error.http_status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in message:
            message = "the body is not valid JSON (or nests too deeply, or has a huge number)"
        error = HttpProtocolError(message, exc.status_code)
        return JSONResponse(error.to_dict(), status_code=error.http_status, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        error = ServerError(f"{type(exc).__name__}: {exc}")
        return JSONResponse(error.to_dict(), status_code=error.http_status)

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(rewards.router)
    app.include_router(ledger.router)
    app.include_router(score.router)
    app.include_router(stream.router)
    app.include_router(openrlhf.router)
    app.include_router(slime.router)
    app.include_router(nemo_gym.router)
    add_body_schemas(app, [ScoreRequest, CompareRequest, StreamItem])
    return app
