"""``POST /get_reward``: OpenRLHF's remote reward model protocol, so ``--reward.remote_url``
(``--remote_rm_url`` in older releases) works unchanged.

Body ``{query: [...], prompts: [...], labels: [...]}``: ``query`` is prompt + response as one
text, so the response is ``query`` minus its ``prompts`` prefix. Answer ``{rewards, scores,
extra_logs}``. OpenRLHF needs a number for every item: a failed item gets
``REWARDGYM_OPENRLHF_ON_ERROR`` (0.0 by default) and is flagged in ``extra_logs.reward_error``
(1.0 = failed), which OpenRLHF logs, so a failure is visible, never a silent 0.

OpenRLHF's agent executor decodes with ``skip_special_tokens=False``, so a response ends in the
tokenizer's end-of-sequence text; it is stripped (``REWARDGYM_END_TEXTS``). OpenRLHF sends no
headers: with API keys on, give it ``--reward.remote_url http://HOST:8000/k/KEY/get_reward``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from rewardgym.end_texts import compat_end_texts, strip_end_texts
from rewardgym.on_error import failed, value_of
from rewardgym.schema import Item, ScoreOptions, ScoreRequest
from rewardgym.server.routes._deps import get_caller, get_service
from rewardgym.service import RewardService
from rewardgym.trust import Caller

__all__ = ["OpenRLHFRequest", "router"]

router = APIRouter(tags=["compat"])


class OpenRLHFRequest(BaseModel):
    query: list[str] = Field(min_length=1, description="prompt + response, one text each")
    prompts: list[str] | None = None
    labels: list[Any] | None = None

    @model_validator(mode="after")
    def _same_lengths(self) -> OpenRLHFRequest:
        for name in ("prompts", "labels"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.query):
                raise ValueError(f"{name} has {len(value)} entries for {len(self.query)} queries")
        return self


def _split(query: str, prompt: str | None) -> tuple[str, str]:
    if prompt and query.startswith(prompt):
        return prompt, query[len(prompt) :]
    return prompt or "", query


@router.post("/get_reward")
async def get_reward(
    body: OpenRLHFRequest,
    reward: str | None = None,
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> dict[str, Any]:
    """Score OpenRLHF's batch with a named reward (``?reward=NAME``, default from settings)."""
    name = reward or service.settings.openrlhf_reward
    items = []
    end_texts = compat_end_texts(service.settings)
    for i, query in enumerate(body.query):
        prompt, response = _split(query, body.prompts[i] if body.prompts else None)
        response = strip_end_texts(response, end_texts)
        label = body.labels[i] if body.labels else None
        items.append(Item(prompt=prompt, response=response, reference=label))
    policy = service.settings.openrlhf_on_error  # OpenRLHF's slot takes only numbers
    request = ScoreRequest(reward=name, items=items, options=ScoreOptions(on_error=policy))
    scored = await service.score(request, caller)
    rewards = [value_of(r, policy, index=i) for i, r in enumerate(scored.results)]
    errors = [float(failed(r)) for r in scored.results]
    return {"rewards": rewards, "scores": rewards, "extra_logs": {"reward_error": errors}}
