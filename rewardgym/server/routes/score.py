"""``POST /v1/score`` and ``POST /v1/compare``.

Bodies are parsed by pydantic-core in one pass (``json_body``). The answer is version 1 JSON,
or the lean version 2 when ``Accept`` asks for ``application/vnd.rewardgym.v2+json``
(``rewardgym.wire``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rewardgym.schema import CompareRequest, ScoreRequest, ScoreResponse
from rewardgym.server.json_body import documented_body, json_body
from rewardgym.server.routes._deps import get_caller, get_service
from rewardgym.service import RewardService
from rewardgym.trust import Caller
from rewardgym.wire import JSON_MEDIA_TYPE, V2_MEDIA_TYPE, encode_v2, wants_v2

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


def _answer(request: Request, response: ScoreResponse) -> Response:
    # Serialised once (pydantic-core or orjson); FastAPI would validate and encode it again.
    if wants_v2(request.headers.get("accept")):
        return Response(encode_v2(response), media_type=V2_MEDIA_TYPE)
    return Response(response.model_dump_json(), media_type=JSON_MEDIA_TYPE)


_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "description": f"one result per item (the lean version 2 for Accept: {V2_MEDIA_TYPE})",
        "content": {V2_MEDIA_TYPE: {"schema": {}}},
    }
}


@router.post(
    "/score",
    responses={**_OK, **_ERRORS},
    response_model=ScoreResponse,
    openapi_extra=documented_body(ScoreRequest),
)
async def score(
    request: Request,
    body: ScoreRequest = Depends(json_body(ScoreRequest)),
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> Response:
    """Score every item with one reward: one result per item, in order."""
    return _answer(request, await service.score(body, caller))


@router.post(
    "/compare",
    responses={**_OK, **_ERRORS},
    response_model=ScoreResponse,
    openapi_extra=documented_body(CompareRequest),
)
async def compare(
    request: Request,
    body: CompareRequest = Depends(json_body(CompareRequest)),
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> Response:
    """Rank the responses of each item with a preference reward."""
    return _answer(request, await service.compare(body, caller))
