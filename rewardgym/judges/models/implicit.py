"""``implicit_reward``: the reward a DPO-trained policy defines (Rafailov et al., 2023).

    r(x, y) = beta * (log pi(y | x) - log pi_ref(y | x))

summed over the response tokens (``granularity: sequence``), or one value per response token
(``granularity: token``: ``steps`` holds each token's text and its beta * log-ratio; ``score``
is still their sum). Policy and reference are causal LMs sharing one tokenizer; both run in
the same micro-batches.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext, gather_items
from rewardgym.judges.models.batcher import MicroBatcher
from rewardgym.judges.models.logprobs import encode_pair, response_logprobs
from rewardgym.judges.runtime.model_loader import load_pretrained
from rewardgym.judges.texts import text_of
from rewardgym.schema import (
    Basis,
    ErrorType,
    Expression,
    Granularity,
    Item,
    Result,
    StepScore,
    Taxonomy,
)

__all__ = ["ImplicitReward", "ImplicitRewardParams"]

Pair = tuple[list[int], list[int]]


class ImplicitRewardParams(Params):
    OPERATOR_ONLY = frozenset(
        {"policy", "reference", "device", "dtype", "batching", "max_batch_size", "batch_wait_ms"}
    )
    AT_MOST_DEFAULT = frozenset({"max_length"})

    policy: str = Field(min_length=1, description="the DPO-trained model (directory or id)")
    reference: str = Field(min_length=1, description="the model it was trained against")
    beta: float = Field(default=0.1, gt=0, description="the DPO beta")
    granularity: Literal["sequence", "token"] = "sequence"
    chat_template: bool = True
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_length: int = Field(default=4096, ge=8, description="prompt + response tokens at most")
    batching: bool = True
    max_batch_size: int = Field(default=16, ge=1, le=1024)
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000)


class ImplicitReward(Reward):
    """beta * log-ratio of a policy to its reference, per sequence or per token."""

    type_id = "implicit_reward"
    libraries = ("torch", "transformers")
    Params = ImplicitRewardParams
    description = "Implicit reward of a DPO policy: beta * (log pi - log pi_ref), seq or token"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p: ImplicitRewardParams = self.params
        granularity = Granularity.TOKEN if p.granularity == "token" else Granularity.OUTCOME
        self.taxonomy = Taxonomy(
            basis=Basis.MODEL, expression=Expression.IMPLICIT, granularity=granularity
        )
        self.batcher: MicroBatcher[Pair, tuple[list[float], list[float]]] = MicroBatcher(
            self._run,
            max_batch_size=p.max_batch_size,
            max_wait_ms=p.batch_wait_ms,
            enabled=p.batching,
            name=f"rewardgym-implicit-{self.name}",
        )

    def models(self) -> tuple[Any, Any, Any]:
        """(policy, reference, tokenizer)."""
        p: ImplicitRewardParams = self.params
        policy, tokenizer = load_pretrained("causal_lm", p.policy, p.device, p.dtype)
        reference, ref_tokenizer = load_pretrained("causal_lm", p.reference, p.device, p.dtype)
        if len(tokenizer) != len(ref_tokenizer):
            raise ConfigError(
                f"reward {self.name!r}: policy and reference tokenizers differ "
                f"({len(tokenizer)} vs {len(ref_tokenizer)} tokens); they must be the same"
            )
        return policy, reference, tokenizer

    async def start(self) -> None:
        self.models()

    def _run(self, pairs: list[Pair]) -> list[tuple[list[float], list[float]]]:
        policy, reference, tokenizer = self.models()
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        return list(
            zip(
                response_logprobs(policy, pad, pairs),
                response_logprobs(reference, pad, pairs),
                strict=True,
            )
        )

    async def score_batch(self, items: Any, ctx: ScoreContext) -> list[Result]:
        p: ImplicitRewardParams = self.params
        _, _, tokenizer = self.models()

        async def one(item: Item) -> Result:
            prompt_ids, response_ids = encode_pair(
                tokenizer, item.prompt, text_of(item.response), chat_template=p.chat_template
            )
            if len(prompt_ids) + len(response_ids) > p.max_length:
                raise RewardError(
                    ErrorType.INVALID_INPUT,
                    f"prompt + response is {len(prompt_ids) + len(response_ids)} tokens; "
                    f"max_length is {p.max_length}",
                )
            policy_lp, ref_lp = await self.batcher.submit((prompt_ids, response_ids))
            per_token = [p.beta * (a - b) for a, b in zip(policy_lp, ref_lp, strict=True)]
            result = Result(
                score=math.fsum(per_token),
                scores={
                    "logp_policy": math.fsum(policy_lp),
                    "logp_reference": math.fsum(ref_lp),
                },
                metadata={"tokens": len(response_ids)},
            )
            if p.granularity == "token":
                result.steps = [
                    StepScore(index=i, text=tokenizer.decode([tok]), score=value)
                    for i, (tok, value) in enumerate(zip(response_ids, per_token, strict=True))
                ]
            return result

        return await gather_items(items, one, ctx)

    async def aclose(self) -> None:
        await self.batcher.aclose()
