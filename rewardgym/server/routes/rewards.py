"""``GET /v1/rewards`` and ``GET /v1/rewards/{name}``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from rewardgym.schema import RewardInfo
from rewardgym.server.routes._deps import get_service
from rewardgym.service import RewardService

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["rewards"])


@router.get("/rewards")
async def list_rewards(service: RewardService = Depends(get_service)) -> list[RewardInfo]:
    """Every named reward with its params and taxonomy."""
    return service.list_rewards()


@router.get("/rewards/{name}", responses={404: {"description": "unknown reward"}})
async def get_reward(name: str, service: RewardService = Depends(get_service)) -> RewardInfo:
    """One named reward."""
    return service.reward_info(name)
