"""An in-process judge: a transformers causal LM on CPU or GPU, requests batched together.

Requests that arrive within ``batch_wait_ms`` of each other (up to ``max_batch_size``) with the
same sampling settings run as one padded batch in a single worker thread, so the event loop
keeps serving. ``choices`` are enforced exactly: one forward pass, the next-token distribution
restricted to the first token of each choice (the log-probabilities come back as the top
alternatives, which is what logprob-weighted and yes/no verdicts read). Free generation returns
the text and, when asked, the top log-probabilities of every generated token. JSON schemas and
regexes are not enforced here; the judges' parsers read the text.

The model is loaded once per (path, device, dtype) in a process, on first use.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rewardgym.judges.backends.base import BackendError, ChatRequest, ChatResponse
from rewardgym.judges.deadline import time_left
from rewardgym.judges.runtime.model_loader import load_pretrained, unload
from rewardgym.metrics import BACKEND_ERRORS, BACKEND_SECONDS

__all__ = ["TransformersBackend", "load_model", "unload_model"]

_VIEWS: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_VIEWS_LOCK = threading.Lock()
_FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def load_model(path: str, device: str = "cpu", dtype: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) for generation: the model from the one loader every model reward
    uses (``judges.runtime.model_loader``, one copy per process), and a view of its tokenizer that
    pads on the left and has a chat template (the shared tokenizer is left as it is)."""
    key = (path, device, dtype)
    with _VIEWS_LOCK:
        if key not in _VIEWS:
            model, shared = load_pretrained("causal_lm", path, device, dtype)
            tokenizer = copy.copy(shared)
            tokenizer.padding_side = "left"
            if not getattr(tokenizer, "chat_template", None):
                tokenizer.chat_template = _FALLBACK_TEMPLATE
            _VIEWS[key] = (model, tokenizer)
        return _VIEWS[key]


def unload_model(path: str) -> int:
    """Forget the loaded copies of the model at ``path`` (every device and dtype), so their
    memory can be freed once no backend uses them; returns how many were dropped."""
    with _VIEWS_LOCK:
        for key in [key for key in _VIEWS if key[0] == path]:
            del _VIEWS[key]
    return unload(path)


@dataclass
class _Pending:
    request: ChatRequest
    future: asyncio.Future[ChatResponse]
    group: tuple[Any, ...] = field(init=False)

    def __post_init__(self) -> None:
        r = self.request
        self.group = (r.max_tokens, r.temperature, r.top_p, r.seed, r.top_logprobs, r.choices)


class TransformersBackend:
    """Chat completions from a local transformers model, batched."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        dtype: str = "auto",
        max_batch_size: int = 8,
        batch_wait_ms: float = 5.0,
        timeout_s: float = 300.0,
    ) -> None:
        self.model = model
        self.device = device
        self.dtype = dtype
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_ms / 1000.0
        self.timeout_s = timeout_s
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="rewardgym-transformers")
        self.stats = {"calls": 0, "batches": 0}

    async def warm(self) -> None:
        """Load the model now (in the worker thread), so the first call does not wait for it."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, load_model, self.model, self.device, self.dtype)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """One completion, batched with whatever else arrives meanwhile."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._serve())
        pending = _Pending(request, asyncio.get_running_loop().create_future())
        await self._queue.put(pending)
        started = time.perf_counter()
        label = f"transformers/{self.model}"
        left = time_left()
        limit = self.timeout_s if left is None else min(self.timeout_s, left)
        try:
            response = await asyncio.wait_for(asyncio.shield(pending.future), limit)
        except BackendError:
            BACKEND_ERRORS.labels(label, "other").inc()
            raise
        except TimeoutError as exc:
            BACKEND_ERRORS.labels(label, "timeout").inc()
            raise BackendError(
                f"local model {self.model}: no answer within {limit:.3g} s"
                + (" (the request's deadline)" if limit < self.timeout_s else ""),
                retryable=True,
                timeout=True,
            ) from exc
        finally:
            BACKEND_SECONDS.labels(label).observe(time.perf_counter() - started)
        return response

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.batch_wait_s
            while len(batch) < self.max_batch_size:
                try:
                    batch.append(
                        await asyncio.wait_for(self._queue.get(), max(0.0, deadline - loop.time()))
                    )
                except TimeoutError:
                    break
            groups: dict[tuple[Any, ...], list[_Pending]] = {}
            for pending in batch:
                groups.setdefault(pending.group, []).append(pending)
            for members in groups.values():
                live = [m for m in members if not m.future.done()]
                if not live:
                    continue
                try:
                    answers = await loop.run_in_executor(
                        self._executor, self._run, [m.request for m in live]
                    )
                except Exception as exc:  # a model failure fails these requests, not the worker
                    error = BackendError(
                        f"local model {self.model}: {type(exc).__name__}: {exc}", retryable=False
                    )
                    for m in live:
                        if not m.future.done():
                            m.future.set_exception(error)
                    continue
                self.stats["batches"] += 1
                self.stats["calls"] += len(live)
                for m, answer in zip(live, answers, strict=True):
                    if not m.future.done():
                        m.future.set_result(answer)

    def _run(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        """One batch with shared settings (runs in the worker thread)."""
        import torch

        model, tokenizer = load_model(self.model, self.device, self.dtype)
        prompts = [
            tokenizer.apply_chat_template(
                [{"role": r, "content": c} for r, c in req.messages],
                tokenize=False,
                add_generation_prompt=True,
            )
            for req in requests
        ]
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        first = requests[0]
        with torch.inference_mode():
            if first.choices:
                return self._choose(model, tokenizer, inputs, first.choices, prompt_tokens)
            if first.seed is not None:
                torch.manual_seed(first.seed)
            sampling = first.temperature > 0
            out = model.generate(
                **inputs,
                max_new_tokens=first.max_tokens,
                do_sample=sampling,
                temperature=first.temperature if sampling else None,
                top_p=first.top_p if sampling else None,
                top_k=None,
                pad_token_id=tokenizer.pad_token_id,
                return_dict_in_generate=True,
                output_logits=bool(first.top_logprobs),
            )
        new = out.sequences[:, inputs["input_ids"].shape[1] :]
        stops = {tokenizer.eos_token_id, tokenizer.pad_token_id} - {None}
        answers = []
        for row, ids in enumerate(new.tolist()):
            length = next((i for i, t in enumerate(ids) if t in stops), len(ids))
            alternatives = None
            if first.top_logprobs:
                alternatives = []
                for step in range(length):
                    logprobs = torch.log_softmax(out.logits[step][row].float(), dim=-1)
                    values, indices = logprobs.topk(first.top_logprobs)
                    alternatives.append(
                        [
                            (tokenizer.decode([int(i)]), float(v))
                            for v, i in zip(values.tolist(), indices.tolist(), strict=True)
                        ]
                    )
            answers.append(
                ChatResponse(
                    text=tokenizer.decode(ids[:length], skip_special_tokens=True),
                    finish_reason="stop" if length < len(ids) else "length",
                    logprobs=alternatives,
                    prompt_tokens=int(prompt_tokens[row]),
                    completion_tokens=length,
                    endpoint=f"local:{self.model}",
                )
            )
        return answers

    def _choose(
        self,
        model: Any,
        tokenizer: Any,
        inputs: dict[str, Any],
        choices: tuple[str, ...],
        prompt_tokens: list[int],
    ) -> list[ChatResponse]:
        """The most likely of ``choices`` by their first token, with every choice's logprob.

        Choices that share a first token ("1" and "10" on a digit-by-digit tokenizer) are read
        as the shortest of them, as a single-token verdict can only show that one.
        """
        import torch

        by_token: dict[int, str] = {}
        for choice in sorted(choices, key=len):
            ids = tokenizer.encode(choice, add_special_tokens=False)
            if not ids:
                raise ValueError(f"choice {choice!r} encodes to no tokens")
            by_token.setdefault(ids[0], choice)
        token_ids = list(by_token)
        choices = tuple(by_token.values())
        logits = model(**inputs, **_last_logits_only(model.__class__)).logits[:, -1, :].float()
        logprobs = torch.log_softmax(logits, dim=-1)[:, token_ids].tolist()
        answers = []
        for row, values in enumerate(logprobs):
            ranked = sorted(zip(choices, values, strict=True), key=lambda cv: -cv[1])
            answers.append(
                ChatResponse(
                    text=ranked[0][0],
                    finish_reason="stop",
                    logprobs=[[(c, float(v)) for c, v in ranked]],
                    prompt_tokens=int(prompt_tokens[row]),
                    completion_tokens=1,
                    endpoint=f"local:{self.model}",
                )
            )
        return answers

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._executor.shutdown(wait=False, cancel_futures=True)


@functools.cache
def _last_logits_only(model_class: Any) -> dict[str, int]:
    """Ask for the last position's logits only, where the model class can: the vocabulary
    projection over every position dominates a small judge's forward pass (151,936 x 896 per
    token for Qwen2.5-0.5B). Read once per class, not on every batch."""
    import inspect

    parameters = inspect.signature(model_class.forward).parameters
    for name in ("logits_to_keep", "num_logits_to_keep"):
        if name in parameters:
            return {name: 1}
    return {}
