"""Shared route dependencies."""

from __future__ import annotations

from fastapi import Request

from rewardgym.server.service import RewardService

__all__ = ["get_service"]


def get_service(request: Request) -> RewardService:
    """The app's RewardService."""
    service: RewardService = request.app.state.service
    return service
