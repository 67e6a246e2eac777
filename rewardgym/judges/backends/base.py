"""What every judge backend takes and returns."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["BackendError", "ChatBackend", "ChatRequest", "ChatResponse", "TokenAlternatives"]

TokenAlternatives = list[tuple[str, float]]
"""The top alternatives for one generated token: (token text, log-probability), best first."""


class BackendError(Exception):
    """A judge call that failed; ``retryable`` says whether another try may succeed."""

    def __init__(self, message: str, *, retryable: bool, timeout: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.timeout = timeout


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion. ``namespace`` (e.g. a template version) is part of the cache key."""

    messages: tuple[tuple[str, str], ...]
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    top_logprobs: int | None = None
    response_format: dict[str, Any] | None = None
    extra_body: dict[str, Any] | None = None
    namespace: str = ""

    def cache_key(self, model: str) -> str:
        """Stable hash of everything that changes the answer."""
        payload = {"model": model, **self.__dict__, "messages": list(self.messages)}
        raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class ChatResponse:
    """The judge's answer."""

    text: str
    finish_reason: str | None = None
    logprobs: list[TokenAlternatives] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    endpoint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class ChatBackend(Protocol):
    """Anything that answers chat requests (an OpenAI-compatible server, a local model)."""

    model: str

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    async def aclose(self) -> None: ...
