"""Shared route dependencies. Coroutines, though they never wait: FastAPI runs a plain
function dependency in its thread pool, two thread hops per scoring request."""

from __future__ import annotations

from fastapi import Request

from rewardgym.service import RewardService
from rewardgym.trust import Caller

__all__ = ["get_caller", "get_service"]


async def get_service(request: Request) -> RewardService:
    """The app's RewardService."""
    service: RewardService = request.app.state.service
    return service


async def get_caller(request: Request) -> Caller:
    """Who sent the request: an API caller (trusted only when its key is marked so)."""
    service: RewardService = request.app.state.service
    return service.caller(request.scope.get("state", {}).get("api_key_id"))
