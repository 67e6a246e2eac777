"""A backend for any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp, OpenAI).

Several endpoints are balanced (least in flight first; a failing one rests for a while); a
concurrency limit and rpm/tpm limits apply to all; timeouts and retries with backoff apply to
retryable failures only (timeouts, connection errors, 429 honouring Retry-After, 5xx); answers
are cached by (model, messages, sampling, template version).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import openai

from rewardgym.judges.backends.base import BackendError, ChatRequest, ChatResponse
from rewardgym.judges.backends.limits import RateLimiter
from rewardgym.judges.deadline import time_left
from rewardgym.metrics import BACKEND_ERRORS, BACKEND_SECONDS

__all__ = ["OpenAICompatBackend"]

_RETRYABLE = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)


class _Endpoint:
    def __init__(self, base_url: str, api_key: str, timeout_s: float) -> None:
        self.base_url = base_url
        self.client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=0
        )
        self.in_flight = 0
        self.resting_until = 0.0


class OpenAICompatBackend:
    """Chat completions against one or more OpenAI-compatible endpoints."""

    def __init__(
        self,
        base_urls: list[str],
        model: str,
        *,
        api_key: str = "",
        max_concurrency: int = 64,
        rpm: float | None = None,
        tpm: float | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        rest_s: float = 5.0,
        vllm_choices: bool = False,
    ) -> None:
        if not base_urls:
            raise ValueError("at least one base URL is needed")
        self.model = model
        self.endpoints = [_Endpoint(url, api_key, timeout_s) for url in base_urls]
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.rest_s = rest_s
        self.vllm_choices = vllm_choices
        self._slots = asyncio.Semaphore(max_concurrency)
        self._limits = RateLimiter(rpm, tpm)
        self.stats = {
            "calls": 0,
            "retries": 0,
            "errors": 0,
        }

    def _pick(self) -> _Endpoint:
        now = time.monotonic()
        awake = [e for e in self.endpoints if e.resting_until <= now] or self.endpoints
        return min(awake, key=lambda e: e.in_flight)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """One completion (``CachedBackend`` adds the cache)."""
        estimate = sum(len(content) for _, content in request.messages) // 4 + request.max_tokens
        last: BackendError | None = None
        for attempt in range(self.max_retries + 1):
            left = time_left()
            if left is not None and left <= 0:
                raise last or _past_deadline()
            endpoint = self._pick()
            try:
                async with self._slots:
                    await self._limits.acquire(estimate)
                    response = await self._call(endpoint, request)
            except BackendError as exc:
                last = exc
                self.stats["errors"] += 1
                if not exc.retryable or attempt == self.max_retries:
                    raise
                self.stats["retries"] += 1
                pause = getattr(exc, "retry_after", None) or self.backoff_s * 2**attempt * (
                    0.5 + random.random()
                )
                left = time_left()
                if left is not None and pause >= left:
                    raise  # the retry could not answer before the request's deadline
                await asyncio.sleep(pause)
                continue
            return response
        raise last or BackendError("no attempt made", retryable=False)

    async def _call(self, endpoint: _Endpoint, request: ChatRequest) -> ChatResponse:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": r, "content": c} for r, c in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.top_p is not None:
            kwargs["top_p"] = request.top_p
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if request.top_logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = request.top_logprobs
        if request.response_format is not None:
            kwargs["response_format"] = request.response_format
        extra = dict(request.extra_body or {})
        if request.choices and self.vllm_choices:
            extra["structured_outputs"] = {"choice": list(request.choices)}
        if extra:
            kwargs["extra_body"] = extra
        endpoint.in_flight += 1
        self.stats["calls"] += 1
        label = f"openai/{self.model}"
        started = time.perf_counter()
        try:
            # The whole call, not each read: a server that trickles bytes is cut at timeout_s,
            # or sooner at the request's deadline.
            left = time_left()
            limit = self.timeout_s if left is None else min(self.timeout_s, left)
            async with asyncio.timeout(limit):
                completion = await endpoint.client.chat.completions.create(**kwargs)
            return _parse(completion, endpoint.base_url)
        except TimeoutError as exc:
            BACKEND_ERRORS.labels(label, "timeout").inc()
            endpoint.resting_until = time.monotonic() + self.rest_s
            raise BackendError(
                f"{endpoint.base_url}: no complete answer within {limit:.3g} s"
                + (" (the request's deadline)" if limit < self.timeout_s else ""),
                retryable=True,
                timeout=True,
            ) from exc
        except BackendError:
            BACKEND_ERRORS.labels(label, "malformed").inc()
            raise
        except _RETRYABLE as exc:
            BACKEND_ERRORS.labels(label, _error_kind(exc)).inc()
            endpoint.resting_until = time.monotonic() + self.rest_s
            error = BackendError(
                f"{endpoint.base_url}: {type(exc).__name__}: {exc}",
                retryable=True,
                timeout=isinstance(exc, openai.APITimeoutError),
            )
            error.retry_after = _retry_after(exc)  # type: ignore[attr-defined]
            raise error from exc
        except openai.APIError as exc:
            BACKEND_ERRORS.labels(label, _error_kind(exc)).inc()
            raise BackendError(
                f"{endpoint.base_url}: {type(exc).__name__}: {exc}", retryable=False
            ) from exc
        except ValueError as exc:  # a body that is not a completion (JSON errors included)
            BACKEND_ERRORS.labels(label, "malformed").inc()
            raise BackendError(
                f"{endpoint.base_url}: malformed answer: {type(exc).__name__}: {exc}",
                retryable=True,
            ) from exc
        finally:
            endpoint.in_flight -= 1
            BACKEND_SECONDS.labels(label).observe(time.perf_counter() - started)

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.client.close()


def _error_kind(exc: Exception) -> str:
    """The metrics label of a failed call."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection"
    if isinstance(exc, openai.APIStatusError):
        return "http"
    return "other"


def _past_deadline() -> BackendError:
    return BackendError(
        "the request's deadline passed before the judge was asked", retryable=False, timeout=True
    )


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


def _parse(completion: Any, endpoint: str) -> ChatResponse:
    """Read a completion defensively: a malformed answer is a retryable backend error."""
    try:
        choice = completion.choices[0]
        text = choice.message.content or ""
        alternatives = None
        if choice.logprobs is not None and choice.logprobs.content:
            alternatives = [
                [(alt.token, float(alt.logprob)) for alt in (tok.top_logprobs or [])]
                or [(tok.token, float(tok.logprob))]
                for tok in choice.logprobs.content
            ]
        usage = completion.usage
        return ChatResponse(
            text=text,
            finish_reason=choice.finish_reason,
            logprobs=alternatives,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            endpoint=endpoint,
        )
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise BackendError(f"{endpoint}: malformed completion: {exc}", retryable=True) from exc
