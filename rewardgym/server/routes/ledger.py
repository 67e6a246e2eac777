"""``GET /v1/ledger/{address}``: a recorded result by its content address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from rewardgym.schema import LedgerEntry
from rewardgym.server.routes._deps import get_service
from rewardgym.service import RewardService

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["ledger"])

Address = Annotated[
    str, Path(pattern="^[0-9a-f]{64}$", description="a result's address: 64 hex digits")
]


@router.get("/ledger/{address}", responses={404: {"description": "no result at that address"}})
async def lookup(address: Address, service: RewardService = Depends(get_service)) -> LedgerEntry:
    """The result recorded at ``address`` (a scoring request with ``options.ledger: true``
    returns each result's), with its item, reward and the reward's implementation."""
    return await service.lookup(address)
