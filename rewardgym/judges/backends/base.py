"""What every judge backend takes and returns."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
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
    """One chat completion. ``namespace`` (e.g. a template version) is part of the cache key.

    ``choices`` constrains the answer to one of a few labels (score tokens, "A"/"B"/"C",
    "Yes"/"No"); each backend enforces it its own way (vLLM ``structured_outputs``, or masking
    the next-token distribution in process) or, when it cannot, the parser reads the text.
    """

    messages: tuple[tuple[str, str], ...]
    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    top_logprobs: int | None = None
    response_format: dict[str, Any] | None = None
    extra_body: dict[str, Any] | None = None
    choices: tuple[str, ...] | None = None
    namespace: str = ""

    def cache_key(self, model: str) -> str:
        """Stable hash of everything that changes the answer (fields in declaration order);
        worked out once per request and model (a judge that keeps its requests asks again
        without hashing again)."""
        kept = self.__dict__.get("_cache_key")
        if kept is not None and kept[0] == model:
            return str(kept[1])
        payload = [model, *(getattr(self, f.name) for f in _FIELDS)]
        raw = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
        key = hashlib.sha256(raw.encode()).hexdigest()
        object.__setattr__(self, "_cache_key", (model, key))  # frozen: its fields never change
        return key


_FIELDS = fields(ChatRequest)


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
    stats: dict[str, int]

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    async def aclose(self) -> None: ...
