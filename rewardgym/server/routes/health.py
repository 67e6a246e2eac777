"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from rewardgym.server.routes._deps import get_service
from rewardgym.server.service import RewardService

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(service: RewardService = Depends(get_service)) -> JSONResponse:
    """Rewards are loaded and warm: ready for traffic (503 until then)."""
    body = {
        "status": "ready" if service.ready else "starting",
        "rewards": len(service.registry.names()),
        "in_flight": service.in_flight,
    }
    return JSONResponse(body, status_code=200 if service.ready else 503)
