"""``POST /v1/score`` and ``POST /v1/compare``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from rewardgym.schema import CompareRequest, ScoreRequest, ScoreResponse
from rewardgym.server.routes._deps import get_caller, get_service
from rewardgym.service import RewardService
from rewardgym.trust import Caller

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["score"])

_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "no API key, or one not accepted (when the server has keys)"},
    403: {
        "description": "an inline spec sets a parameter only an operator may set (the body "
        "names it), or inline specs are off"
    },
    404: {"description": "unknown reward (the body lists the known ones)"},
    413: {"description": "body or batch over the configured limit"},
    422: {
        "description": "invalid body, params or item (the body names the field), or a reward "
        "that cannot do this (compare with a scalar reward)"
    },
    429: {"description": "this API key is over its rate (Retry-After says when to retry)"},
    503: {"description": "saturated or shutting down (Retry-After says when to retry)"},
    504: {"description": "an item timed out under on_error: raise"},
}


def _json(response: ScoreResponse) -> Response:
    # Serialised once by pydantic-core; FastAPI would validate and encode the model again.
    return Response(response.model_dump_json(), media_type="application/json")


@router.post("/score", responses=_ERRORS, response_model=ScoreResponse)
async def score(
    request: ScoreRequest,
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> Response:
    """Score every item with one reward: one result per item, in order."""
    return _json(await service.score(request, caller))


@router.post("/compare", responses=_ERRORS, response_model=ScoreResponse)
async def compare(
    request: CompareRequest,
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> Response:
    """Rank the responses of each item with a preference reward."""
    return _json(await service.compare(request, caller))
