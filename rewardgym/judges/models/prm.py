"""``process_reward_model``: a process reward model's probability that each step is good.

Steps come from ``item.steps`` or are split from the response (``split``, as the step judge
does). The model reads the prompt and the steps, each followed by ``step_tag``; at the last
token of every tag it gives p(good):

- ``head: causal_lm`` (Math-Shepherd style): the next-token distribution there, restricted to
  ``good_token`` and ``bad_token``: p(good) = softmax(logit_good, logit_bad)[0];
- ``head: token_classification``: the classifier's softmax there, class ``good_label``.

Pieces are tokenized one by one and concatenated, so the tag positions are exact.
``backend: vllm`` reads the steps from a vLLM server running a process reward model with STEP
pooling (e.g. ``Qwen2ForProcessRewardModel``: ``vllm serve MODEL --runner pooling``, its
``step_tag_id`` the id of ``step_tag``): one ``POST /pooling`` per item with the same text, each
tag's class probabilities back, class ``good_label`` read. The outcome
``score`` aggregates the step probabilities: ``min`` (default), ``product``, ``mean`` or
``last``; ``metadata.first_bad_step`` is the first step below 0.5 (-1 when none).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext, gather_items
from rewardgym.judges.models.batcher import MicroBatcher
from rewardgym.judges.models.vllm_pooling import VllmPooling
from rewardgym.judges.runtime.model_loader import ModelKind, load_pretrained
from rewardgym.judges.steps import SplitRule, split_steps
from rewardgym.judges.texts import text_of
from rewardgym.schema import Basis, ErrorType, Granularity, Item, Result, StepScore, Taxonomy

__all__ = [
    "ProcessRewardModel",
    "ProcessRewardParams",
    "aggregate_step_probabilities",
    "step_text",
]

Aggregate = Literal["min", "product", "mean", "last"]
Encoded = tuple[list[int], list[int]]  # token ids, positions of the steps' tags


def aggregate_step_probabilities(probabilities: list[float], how: Aggregate) -> float:
    """The outcome score of per-step p(good)."""
    if not probabilities:
        raise ValueError("no steps to aggregate")
    if how == "min":
        return min(probabilities)
    if how == "product":
        return math.prod(probabilities)
    if how == "mean":
        return math.fsum(probabilities) / len(probabilities)
    return probabilities[-1]


class ProcessRewardParams(Params):
    OPERATOR_ONLY = frozenset(
        {
            "model",
            "head",
            "device",
            "dtype",
            "batching",
            "max_batch_size",
            "batch_wait_ms",
            "backend",
            "base_url",
            "served_model",
            "max_concurrency",
        }
    )
    AT_MOST_DEFAULT = frozenset({"max_length", "timeout_s", "max_steps"})

    model: str = Field(min_length=1, description="a local directory or a cached hub id")
    head: Literal["causal_lm", "token_classification"] = "causal_lm"
    step_tag: str = Field(default=" ки\n", min_length=1, description="text after each step")
    good_token: str = Field(default="+", description="causal_lm: the 'good' token")
    bad_token: str = Field(default="-", description="causal_lm: the 'bad' token")
    good_label: int = Field(default=1, ge=0, description="token_classification: good class")
    split: SplitRule = "auto"
    step_pattern: str | None = Field(default=None, description="split 'regex': the separator")
    max_steps: int = Field(default=64, ge=1, le=1024)
    aggregate: Aggregate = "min"
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    max_length: int = Field(default=4096, ge=8)
    batching: bool = True
    max_batch_size: int = Field(default=16, ge=1, le=1024)
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    backend: Literal["local", "vllm"] = Field(
        default="local", description="local: transformers in process; vllm: POST /pooling (STEP)"
    )
    base_url: str | None = Field(default=None, description="vllm: the server")
    served_model: str | None = Field(default=None, description="vllm: its name (default model)")
    max_concurrency: int = Field(default=64, ge=1, description="vllm: requests in flight")
    timeout_s: float = Field(default=60.0, gt=0, description="vllm: per request")

    @model_validator(mode="after")
    def _vllm_needs_url(self) -> ProcessRewardParams:
        if self.backend == "vllm" and not self.base_url:
            raise ValueError("backend vllm needs base_url (the vLLM server)")
        return self


def step_text(prompt: str, steps: list[str], step_tag: str) -> str:
    """The text a PRM reads: the prompt, a newline, then every step followed by the tag."""
    return prompt + "\n" + "".join(step + step_tag for step in steps)


class ProcessRewardModel(Reward):
    """Per-step p(good) from a process reward model, aggregated to an outcome score."""

    type_id = "process_reward_model"
    libraries = ("torch", "transformers")
    taxonomy = Taxonomy(basis=Basis.MODEL, granularity=Granularity.STEP)
    Params = ProcessRewardParams
    description = "Process reward model: p(good) per step (causal-LM tokens or a PRM head)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p: ProcessRewardParams = self.params
        self.remote = (
            VllmPooling(
                p.base_url or "",
                p.served_model or p.model,
                max_concurrency=p.max_concurrency,
                timeout_s=p.timeout_s,
            )
            if p.backend == "vllm"
            else None
        )
        self.batcher: MicroBatcher[Encoded, list[float]] = MicroBatcher(
            self._run,
            max_batch_size=p.max_batch_size,
            max_wait_ms=p.batch_wait_ms,
            enabled=p.batching,
            name=f"rewardgym-prm-{self.name}",
        )

    def loaded(self) -> tuple[Any, Any]:
        p: ProcessRewardParams = self.params
        kind: ModelKind = "causal_lm" if p.head == "causal_lm" else "token_classification"
        return load_pretrained(kind, p.model, p.device, p.dtype)

    def label_tokens(self, tokenizer: Any) -> tuple[int, int]:
        """The ids of the good and bad tokens (each must be one token)."""
        p: ProcessRewardParams = self.params
        ids = []
        for text in (p.good_token, p.bad_token):
            found = tokenizer(text, add_special_tokens=False)["input_ids"]
            if len(found) != 1:
                raise ConfigError(
                    f"reward {self.name!r}: {text!r} is {len(found)} tokens for this "
                    "tokenizer; good_token and bad_token must be one token each"
                )
            ids.append(found[0])
        return ids[0], ids[1]

    async def start(self) -> None:
        if self.remote is not None:  # a vLLM server may start later: its errors are per item
            return
        model, tokenizer = self.loaded()
        p: ProcessRewardParams = self.params
        if p.head == "causal_lm":
            self.label_tokens(tokenizer)
        elif p.good_label >= int(model.config.num_labels):
            raise ConfigError(
                f"reward {self.name!r}: good_label {p.good_label}, but the head has "
                f"{model.config.num_labels} classes"
            )

    def encode(self, tokenizer: Any, prompt: str, steps: list[str]) -> Encoded:
        p: ProcessRewardParams = self.params
        ids = list(tokenizer(prompt + "\n", add_special_tokens=True)["input_ids"])
        tag = tokenizer(p.step_tag, add_special_tokens=False)["input_ids"]
        positions = []
        for step in steps:
            ids.extend(tokenizer(step, add_special_tokens=False)["input_ids"])
            ids.extend(tag)
            positions.append(len(ids) - 1)
        return ids, positions

    def _run(self, batch: list[Encoded]) -> list[list[float]]:
        import torch

        p: ProcessRewardParams = self.params
        model, tokenizer = self.loaded()
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, _) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            mask[row, : len(ids)] = 1
        with torch.inference_mode():
            logits = (
                model(input_ids=input_ids.to(model.device), attention_mask=mask.to(model.device))
                .logits.float()
                .cpu()
            )
        out = []
        if p.head == "causal_lm":
            good, bad = self.label_tokens(tokenizer)
            for row, (_, positions) in enumerate(batch):
                pair = logits[row, positions][:, [good, bad]]
                out.append(torch.softmax(pair, dim=-1)[:, 0].tolist())
        else:
            for row, (_, positions) in enumerate(batch):
                probs = torch.softmax(logits[row, positions], dim=-1)
                out.append(probs[:, p.good_label].tolist())
        return out

    async def remote_probabilities(self, prompt: str, steps: list[str]) -> list[float]:
        """p(good) of each step from the vLLM server's STEP pooling."""
        assert self.remote is not None
        p: ProcessRewardParams = self.params
        rows = await self.remote.pool(step_text(prompt, steps, p.step_tag))
        if len(rows) != len(steps):
            raise RewardError(
                ErrorType.BACKEND_ERROR,
                f"the PRM returned {len(rows)} step scores for {len(steps)} steps: is its "
                f"step_tag_id the id of {p.step_tag!r}?",
            )
        try:
            return [float(row[p.good_label]) for row in rows]
        except (IndexError, TypeError) as exc:
            raise RewardError(
                ErrorType.CONFIG_ERROR, f"good_label {p.good_label} is not in {rows[0]!r}"
            ) from exc

    async def local_probabilities(self, prompt: str, steps: list[str]) -> list[float]:
        p: ProcessRewardParams = self.params
        _, tokenizer = self.loaded()
        encoded = self.encode(tokenizer, prompt, steps)
        if len(encoded[0]) > p.max_length:
            raise RewardError(
                ErrorType.INVALID_INPUT,
                f"prompt + steps are {len(encoded[0])} tokens; max_length is {p.max_length}",
            )
        return await self.batcher.submit(encoded)

    async def score_batch(self, items: Any, ctx: ScoreContext) -> list[Result]:
        p: ProcessRewardParams = self.params

        async def one(item: Item) -> Result:
            steps = split_steps(item, p.split, p.step_pattern, p.max_steps)
            if self.remote is not None:
                probabilities = await self.remote_probabilities(text_of(item.prompt), steps)
            else:
                probabilities = await self.local_probabilities(text_of(item.prompt), steps)
            bad = [i for i, prob in enumerate(probabilities) if prob < 0.5]
            return Result(
                score=aggregate_step_probabilities(probabilities, p.aggregate),
                steps=[
                    StepScore(index=i, text=s, score=prob, label="good" if prob >= 0.5 else "bad")
                    for i, (s, prob) in enumerate(zip(steps, probabilities, strict=True))
                ],
                metadata={"first_bad_step": bad[0] if bad else -1, "aggregate": p.aggregate},
            )

        return await gather_items(items, one, ctx)

    async def aclose(self) -> None:
        await self.batcher.aclose()
        if self.remote is not None:
            await self.remote.aclose()
