"""Model rewards served by vLLM's pooling runner (``vllm serve MODEL --runner pooling``).

- ``VllmClassifier``: a sequence reward model; ``POST /classify`` (or ``/pooling``) with chat
  messages; vLLM applies the chat template and returns the classifier's probabilities (a
  sigmoid for a one-logit head, a softmax otherwise): ``data[0].probs`` / ``data[0].data``. A
  one-logit head's raw logit is recovered exactly as log(p / (1 - p)).
- ``VllmPooling``: a process reward model with STEP pooling; ``POST /pooling`` with the text,
  one row of class probabilities back per step tag.

Each item is one request (vLLM batches concurrent requests itself); ``max_concurrency`` bounds
how many are in flight. A server that is down, slow or answers garbage is a per-item
``backend_error`` / ``timeout`` saying so.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Literal

import httpx

from rewardgym.errors import RewardError
from rewardgym.schema import ErrorType

__all__ = ["VllmClassifier", "VllmPooling"]


class _VllmClient:
    def __init__(
        self, base_url: str, model: str, *, max_concurrency: int = 64, timeout_s: float = 60.0
    ) -> None:
        root = base_url.rstrip("/")
        self.root = root[: -len("/v1")] if root.endswith("/v1") else root
        self.model = model
        self.timeout_s = timeout_s
        self._limit = asyncio.Semaphore(max_concurrency)
        self._client: httpx.AsyncClient | None = None

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        """The JSON answer of ``POST root/path``; failures are per-item RewardErrors."""
        url = f"{self.root}/{path}"
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        async with self._limit:
            try:
                async with asyncio.timeout(self.timeout_s):  # the whole call, not each read
                    response = await self._client.post(url, json={"model": self.model, **body})
            except (httpx.TimeoutException, TimeoutError) as exc:
                raise RewardError(
                    ErrorType.TIMEOUT, f"{url}: no answer in {self.timeout_s:g} s", retryable=True
                ) from exc
            except httpx.HTTPError as exc:
                raise RewardError(
                    ErrorType.BACKEND_ERROR, f"{url}: {type(exc).__name__}: {exc}", retryable=True
                ) from exc
        if response.status_code != 200:
            raise RewardError(
                ErrorType.BACKEND_ERROR,
                f"{url} answered {response.status_code}: {response.text[:300]}",
                retryable=response.status_code >= 500,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise RewardError(
                ErrorType.BACKEND_ERROR, f"{url}: not JSON: {response.text[:300]!r}"
            ) from exc

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _garbage(what: str, answer: Any) -> RewardError:
    return RewardError(ErrorType.BACKEND_ERROR, f"unreadable {what} answer: {str(answer)[:300]!r}")


class VllmClassifier(_VllmClient):
    """Probabilities of a served classification model, one request per conversation."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        endpoint: Literal["classify", "pooling"] = "classify",
        max_concurrency: int = 64,
        timeout_s: float = 60.0,
    ) -> None:
        super().__init__(base_url, model, max_concurrency=max_concurrency, timeout_s=timeout_s)
        self.endpoint = endpoint
        self.field = "probs" if endpoint == "classify" else "data"

    async def probabilities(self, messages: list[dict[str, str]]) -> list[float]:
        """The class probabilities of one conversation."""
        answer = await self.post(self.endpoint, {"messages": messages})
        try:
            return [float(p) for p in answer["data"][0][self.field]]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _garbage(self.endpoint, answer) from exc

    @staticmethod
    def logit(probability: float) -> float:
        """The raw logit of a one-logit (sigmoid) head."""
        p = min(max(probability, 1e-12), 1 - 1e-12)
        return math.log(p / (1 - p))


class VllmPooling(_VllmClient):
    """Token-level (STEP) pooling of a served process reward model."""

    async def pool(self, text: str) -> list[list[float]]:
        """One row of class probabilities per step tag in ``text``."""
        answer = await self.post("pooling", {"input": text})
        try:
            rows = answer["data"][0]["data"]
            return [[float(v) for v in row] for row in rows]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise _garbage("pooling", answer) from exc
