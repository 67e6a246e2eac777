"""``POST /verify``: a NeMo Gym resources server's verify contract, so a NeMo Gym agent can
name rewardgym as its resources server.

Matched to NVIDIA-NeMo/Gym @07d6b0d: ``nemo_gym/base_resources_server.py`` (``BaseVerifyRequest``
= the task row with ``responses_create_params`` and the policy's ``response``, a Responses-API
object; ``BaseVerifyResponse`` = that body plus ``reward``; ``BaseMultiRewardVerifyResponse``
adds ``reward_components``) and ``resources_servers/math_with_judge/app.py`` (the scored text is
the ``output_text`` parts of the ``message`` outputs, joined).

The reward is the row's ``rewardgym_reward``, else ``?reward=NAME``, else
``REWARDGYM_NEMO_GYM_REWARD``; the reference is the row's first of ``expected_answer``,
``answer``, ``solution``, ``ground_truth``, ``reference``. A failed item answers
``REWARDGYM_NEMO_GYM_ON_ERROR`` (0.0) as ``reward`` with ``reward_error: 1.0`` and the error
beside it (NeMo Gym's metrics read top-level numbers, so failures are counted, never silent).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, ValidationError

from rewardgym.errors import InvalidRequestError
from rewardgym.jsonwalk import iter_json
from rewardgym.on_error import failed, value_of
from rewardgym.schema import Item, Message, ScoreOptions, ScoreRequest
from rewardgym.server.routes._deps import get_caller, get_service
from rewardgym.service import RewardService
from rewardgym.trust import Caller

__all__ = ["REFERENCE_FIELDS", "VerifyRequest", "router"]

router = APIRouter(tags=["compat"])
REFERENCE_FIELDS = ("expected_answer", "answer", "solution", "ground_truth", "reference")
_MAX_ROW_DEPTH = 64


class VerifyRequest(BaseModel):
    """NeMo Gym's ``BaseVerifyRequest``: the task row's fields are kept as they come."""

    model_config = ConfigDict(extra="allow")

    responses_create_params: dict[str, Any]
    response: dict[str, Any]


def _prompt(params: dict[str, Any]) -> str | list[Message]:
    given = params.get("input", "")
    if isinstance(given, str):
        return given
    if not isinstance(given, list):
        raise InvalidRequestError("responses_create_params.input must be a string or messages")
    messages = [m for m in given if isinstance(m, dict) and m.get("role")]
    return [
        Message.model_validate({"role": m["role"], "content": m.get("content")}) for m in messages
    ]


def _output_text(response: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(the ``output_text`` of the message outputs, joined; the function calls)."""
    outputs = response.get("output") or []
    if not isinstance(outputs, list):
        raise InvalidRequestError("response.output must be a list of output items")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for output in outputs:
        if not isinstance(output, dict):
            continue
        if output.get("type") == "function_call":
            calls.append(output)
        if output.get("type") != "message":
            continue
        parts = output.get("content") or []
        if not isinstance(parts, list):
            raise InvalidRequestError("a message output's content must be a list of parts")
        for part in parts:
            if isinstance(part, dict) and part.get("type") == "output_text":
                text = part.get("text", "")
                if not isinstance(text, str):
                    raise InvalidRequestError("an output_text part's text must be a string")
                texts.append(text)
    return "".join(texts), calls


def _check_depth(row: dict[str, Any]) -> None:
    """The row comes back in the answer: one nested too deep could not be written."""
    if any(level > _MAX_ROW_DEPTH for _, level in iter_json(row)):
        raise InvalidRequestError(f"the verify request nests deeper than {_MAX_ROW_DEPTH} levels")


@router.post("/verify")
async def verify(
    body: VerifyRequest,
    reward: str | None = None,
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> dict[str, Any]:
    """NeMo Gym's verify: the row back with ``reward`` (and ``reward_components``)."""
    row = body.model_dump()
    _check_depth(row)
    name = row.get("rewardgym_reward") or reward or service.settings.nemo_gym_reward
    reference = next((row[f] for f in REFERENCE_FIELDS if row.get(f) is not None), None)
    text, calls = _output_text(body.response)
    try:
        item = Item(
            prompt=_prompt(body.responses_create_params),
            response=text,
            reference=reference,
            metadata={"tool_calls": calls} if calls else {},
        )
    except ValidationError as exc:
        raise InvalidRequestError(f"the verify request's messages: {exc}") from exc
    policy = service.settings.nemo_gym_on_error  # NeMo Gym's reward is a number
    request = ScoreRequest(reward=str(name), items=[item], options=ScoreOptions(on_error=policy))
    [result] = (await service.score(request, caller)).results
    row["reward"] = value_of(result, policy, missing=math.nan)
    row["reward_error"] = float(failed(result))
    for own in ("reward_error_type", "reward_error_message", "reward_components"):
        row.pop(own, None)  # the verdict's fields are the server's, never the caller's
    if result.error is not None:
        row["reward_error_type"] = str(result.error.type)
        row["reward_error_message"] = result.error.message
    components = {k: float(v) for k, v in result.scores.items() if v is not None}
    if components:
        row["reward_components"] = components
    return row
