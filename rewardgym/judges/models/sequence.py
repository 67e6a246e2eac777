"""``reward_model``: a sequence-classification reward model, in process, micro-batched.

Any ``AutoModelForSequenceClassification`` checkpoint (a local directory, or a hub id already in
the local cache): the conversation goes through the tokenizer's chat template (or prompt and
response joined by its separator), and the logit of ``label`` is the reward, optionally through
a sigmoid or standardised with a per-model mean and standard deviation. Concurrent requests are
gathered into batches (``max_batch_size``, ``batch_wait_ms``) that run in one worker thread;
inside a batch, texts are sorted by length and cut into sub-batches of at most
``max_batch_tokens`` padded tokens, so short items are not padded to the longest one. Texts
longer than ``max_length`` tokens keep their end (the response) and say so in metadata.

``backend: vllm`` scores through a vLLM server running the model with ``--runner pooling``
instead (``POST /classify`` with the chat messages; see ``vllm_classify``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext, gather_items
from rewardgym.judges.models.batcher import MicroBatcher
from rewardgym.judges.models.text import conversation, rm_text
from rewardgym.judges.models.vllm_pooling import VllmClassifier
from rewardgym.judges.runtime.model_loader import load_pretrained
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["RewardModel", "RewardModelParams", "batched_logits"]


class RewardModelParams(Params):
    OPERATOR_ONLY = frozenset(
        {
            "model",
            "backend",
            "base_url",
            "served_model",
            "endpoint",
            "max_concurrency",
            "device",
            "dtype",
            "batching",
            "max_batch_size",
            "batch_wait_ms",
            "max_batch_tokens",
        }
    )
    AT_MOST_DEFAULT = frozenset({"max_length", "timeout_s"})

    model: str = Field(min_length=1, description="a local directory or a cached hub id")
    backend: Literal["local", "vllm"] = Field(
        default="local", description="local: transformers in process; vllm: POST /classify"
    )
    base_url: str | None = Field(default=None, description="vllm: the server, e.g. http://h:8000")
    served_model: str | None = Field(default=None, description="vllm: its name (default model)")
    endpoint: Literal["classify", "pooling"] = Field(default="classify", description="vllm")
    max_concurrency: int = Field(default=64, ge=1, description="vllm: requests in flight")
    timeout_s: float = Field(default=60.0, gt=0, description="vllm: per request")
    device: str = Field(default="auto", description="auto (GPU when present), cpu, cuda, ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    label: int = Field(default=0, ge=0, description="which logit is the reward")
    normalize: Literal["none", "sigmoid", "standardize"] = "none"
    mean: float = Field(default=0.0, description="standardize: the model's mean logit")
    std: float = Field(default=1.0, gt=0, description="standardize: its standard deviation")
    chat_template: bool = Field(default=True, description="use the tokenizer's chat template")
    max_length: int = Field(default=2048, ge=8, le=131072, description="tokens; longer: cut")
    batching: bool = Field(default=True, description="gather concurrent requests into batches")
    max_batch_size: int = Field(default=32, ge=1, le=4096)
    batch_wait_ms: float = Field(default=5.0, ge=0, le=1000)
    max_batch_tokens: int = Field(default=16384, ge=64, description="padded tokens per forward")

    @model_validator(mode="after")
    def _vllm_needs_url(self) -> RewardModelParams:
        if self.backend == "vllm" and not self.base_url:
            raise ValueError("backend vllm needs base_url (the vLLM server)")
        return self


def batched_logits(
    model: Any, tokenizer: Any, texts: list[str], *, max_length: int, max_batch_tokens: int
) -> list[tuple[list[float], int, bool]]:
    """(logits, tokens, truncated) per text, computed in length-sorted sub-batches."""
    import torch

    tokenizer.truncation_side = "left"  # keep the end: the response being scored
    encoded = tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    out: list[tuple[list[float], int, bool]] = [([], 0, False)] * len(texts)
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order):  # the longest so far is the last one (sorted)
            longest = min(lengths[order[end]], max_length)
            if longest * (end - start + 1) > max_batch_tokens:
                break
            end += 1
        chunk = order[start:end]
        batch = tokenizer(
            [texts[i] for i in chunk],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        ).to(model.device)
        with torch.inference_mode():
            logits = model(**batch).logits.float().cpu().tolist()
        for i, row in zip(chunk, logits, strict=True):
            out[i] = (row, min(lengths[i], max_length), lengths[i] > max_length)
        start = end
    return out


class RewardModel(Reward):
    """A sequence-classification reward model scoring (prompt, response)."""

    type_id = "reward_model"
    libraries = ("torch", "transformers")
    taxonomy = Taxonomy(basis=Basis.MODEL)
    Params = RewardModelParams
    description = "Reward model (sequence classification): the logit of (prompt, response)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        p: RewardModelParams = self.params
        self.remote = (
            VllmClassifier(
                p.base_url or "",
                p.served_model or p.model,
                endpoint=p.endpoint,
                max_concurrency=p.max_concurrency,
                timeout_s=p.timeout_s,
            )
            if p.backend == "vllm"
            else None
        )
        self.batcher: MicroBatcher[str, tuple[list[float], int, bool]] = MicroBatcher(
            self._run,
            max_batch_size=p.max_batch_size,
            max_wait_ms=p.batch_wait_ms,
            enabled=p.batching,
            name=f"rewardgym-rm-{self.name}",
        )

    def loaded(self) -> tuple[Any, Any]:
        p: RewardModelParams = self.params
        return load_pretrained("sequence_classification", p.model, p.device, p.dtype)

    async def start(self) -> None:
        """Load the model now: a missing model or a bad label is a config error at start-up.
        (A vLLM backend may start later than this server: its errors are per item.)"""
        if self.remote is not None:
            return
        model, _ = self.loaded()
        labels = int(getattr(model.config, "num_labels", 1))
        if self.params.label >= labels:
            raise ConfigError(
                f"reward {self.name!r}: label {self.params.label}, but the model has "
                f"{labels} logit(s)",
                allowed=list(range(labels)),
            )

    def _run(self, texts: list[str]) -> list[tuple[list[float], int, bool]]:
        p: RewardModelParams = self.params
        model, tokenizer = self.loaded()
        return batched_logits(
            model, tokenizer, texts, max_length=p.max_length, max_batch_tokens=p.max_batch_tokens
        )

    def value(self, logit: float) -> float:
        """The reward of a raw logit under ``normalize``."""
        p: RewardModelParams = self.params
        if p.normalize == "sigmoid":
            return 1.0 / (1.0 + math.exp(-logit))
        if p.normalize == "standardize":
            return (logit - p.mean) / p.std
        return logit

    async def score_remote(self, item: Item) -> Result:
        """One item through vLLM's /classify (its chat template, its batching)."""
        assert self.remote is not None
        p: RewardModelParams = self.params
        probs = await self.remote.probabilities(conversation(item.prompt, item.response))
        if p.label >= len(probs):
            raise RewardError(
                ErrorType.CONFIG_ERROR, f"label {p.label}, but the model has {len(probs)} classes"
            )
        if len(probs) == 1:  # a sigmoid head: the logit is recovered exactly
            raw = self.remote.logit(probs[0])
            return Result(score=self.value(raw), scores={"logit": raw, "probability": probs[0]})
        return Result(score=probs[p.label], scores={"probability": probs[p.label]})

    async def score_batch(self, items: Any, ctx: ScoreContext) -> list[Result]:
        p: RewardModelParams = self.params
        if self.remote is not None:
            return await gather_items(items, self.score_remote, ctx)
        _, tokenizer = self.loaded()

        async def one(item: Item) -> Result:
            text = rm_text(tokenizer, item.prompt, item.response, chat_template=p.chat_template)
            logits, tokens, truncated = await self.batcher.submit(text)
            if p.label >= len(logits):
                raise ValueError(f"label {p.label} but the model has {len(logits)} logits")
            raw = logits[p.label]
            metadata: dict[str, Any] = {"tokens": tokens}
            if truncated:
                metadata["truncated"] = True
            return Result(score=self.value(raw), scores={"logit": raw}, metadata=metadata)

        return await gather_items(items, one, ctx)

    async def aclose(self) -> None:
        await self.batcher.aclose()
        if self.remote is not None:
            await self.remote.aclose()
