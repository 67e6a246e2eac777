"""A reward model served by vLLM's pooling runner: ``POST /classify`` with chat messages.

``vllm serve MODEL --runner pooling`` applies the model's chat template to ``messages`` and
returns the classifier's probabilities (a sigmoid for a one-logit reward head, a softmax
otherwise). Each item is one request; vLLM batches concurrent requests itself, and
``max_concurrency`` bounds how many are in flight. A one-logit head's raw logit is recovered
exactly as log(p / (1 - p)).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx

from rewardgym.errors import RewardError
from rewardgym.schema import ErrorType

__all__ = ["VllmClassifier"]


class VllmClassifier:
    """Probabilities of a served classification model, one request per conversation."""

    def __init__(
        self, base_url: str, model: str, *, max_concurrency: int = 64, timeout_s: float = 60.0
    ) -> None:
        root = base_url.rstrip("/")
        self.url = (root[: -len("/v1")] if root.endswith("/v1") else root) + "/classify"
        self.model = model
        self.timeout_s = timeout_s
        self._limit = asyncio.Semaphore(max_concurrency)
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        return self._client

    async def probabilities(self, messages: list[dict[str, str]]) -> list[float]:
        """The class probabilities of one conversation."""
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        async with self._limit:
            try:
                response = await self.client().post(self.url, json=body)
            except httpx.TimeoutException as exc:
                raise RewardError(
                    ErrorType.TIMEOUT,
                    f"{self.url}: no answer in {self.timeout_s:g} s",
                    retryable=True,
                ) from exc
            except httpx.HTTPError as exc:
                raise RewardError(
                    ErrorType.BACKEND_ERROR,
                    f"{self.url}: {type(exc).__name__}: {exc}",
                    retryable=True,
                ) from exc
        if response.status_code != 200:
            raise RewardError(
                ErrorType.BACKEND_ERROR,
                f"{self.url} answered {response.status_code}: {response.text[:300]}",
                retryable=response.status_code >= 500,
            )
        try:
            probs = [float(p) for p in response.json()["data"][0]["probs"]]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise RewardError(
                ErrorType.BACKEND_ERROR, f"{self.url}: unreadable answer {response.text[:300]!r}"
            ) from exc
        return probs

    @staticmethod
    def logit(probability: float) -> float:
        """The raw logit of a one-logit (sigmoid) head."""
        p = min(max(probability, 1e-12), 1 - 1e-12)
        return math.log(p / (1 - p))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
