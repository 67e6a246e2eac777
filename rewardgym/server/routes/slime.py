"""``POST /slime/reward``: slime's remote reward model (``--rm-type remote_rm --rm-url``).

Matched to slime's ``slime/rollout/rm_hub/__init__.py:remote_rm`` (THUDM/slime @624b824): it
posts ``{"prompt", "response", "label"}`` for one sample and takes the JSON answer as the
reward (a number; with ``--reward-key K``, a dict holding K). So the answer is the score as a
bare JSON number, or, with ``?format=dict``, ``{"score", "reward_error", ...components}``.

A failed item is an HTTP error with the structured error (504 for a timeout, else 422):
slime retries it with backoff, then stops the rollout saying why; never a silent number.
``?on_error=0`` answers that number instead (with ``format=dict``, flagged in
``reward_error``). slime sends no headers: with API keys on, use
``--rm-url http://HOST:8000/k/KEY/slime/reward``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from rewardgym.end_texts import compat_end_texts, strip_end_texts
from rewardgym.on_error import failed, value_of
from rewardgym.schema import Item, OnError, ScoreOptions, ScoreRequest, Text
from rewardgym.server.routes._deps import get_caller, get_service
from rewardgym.service import RewardService
from rewardgym.trust import Caller

__all__ = ["SlimeRequest", "router"]

router = APIRouter(tags=["compat"])


class SlimeRequest(BaseModel):
    """One slime sample, as ``remote_rm`` sends it."""

    model_config = ConfigDict(extra="ignore")

    prompt: Text = ""
    response: str
    label: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)


@router.post("/slime/reward")
async def slime_reward(
    body: SlimeRequest,
    reward: str | None = None,
    format: Literal["number", "dict"] = "number",
    on_error: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> Any:
    """The reward of one slime sample (``?reward=NAME``, default ``REWARDGYM_SLIME_REWARD``)."""
    item = Item(
        prompt=body.prompt,
        response=strip_end_texts(body.response, compat_end_texts(service.settings)),
        reference=body.label,
        metadata=body.metadata,
    )
    policy: OnError = "raise" if on_error is None else on_error
    request = ScoreRequest(
        reward=reward or service.settings.slime_reward,
        items=[item],
        options=ScoreOptions(on_error=policy),
    )
    [result] = (await service.score(request, caller)).results
    score = value_of(result, policy)
    if format == "number":
        return score
    out: dict[str, Any] = {"score": score, "reward_error": float(failed(result))}
    out.update({k: v for k, v in result.scores.items() if v is not None})
    return out
