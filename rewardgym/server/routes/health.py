"""Liveness, readiness, and the rewards' health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from rewardgym.server.routes._deps import get_service
from rewardgym.service import RewardService

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(service: RewardService = Depends(get_service)) -> JSONResponse:
    """Rewards are loaded and warm: ready for traffic (503 while starting and, after SIGTERM,
    while in-flight calls finish)."""
    status = "draining" if service.draining else "ready" if service.ready else "starting"
    body = {
        "status": status,
        "rewards": len(service.registry.names()),
        "in_flight": service.in_flight,
        "pending_items": service.pending_items,
    }
    return JSONResponse(body, status_code=200 if service.ready else 503)


@router.get("/v1/health/rewards")
async def reward_health(service: RewardService = Depends(get_service)) -> dict[str, Any]:
    """Each reward's health over its recent results (and per data source, for items with
    ``metadata.data_source``): drift against its first results (PSI, KS), saturation, length
    bias (Spearman), failures by type; for preference judges the flip rate, for LLM judges the
    what their audits found (canaries, permuted re-judges, shadow checks;
    ``REWARDGYM_AUDIT_PER_MINUTE``). Null where there is too
    little data."""
    return {"rewards": service.reward_health()}
