"""HTTP clients for the reward server: ``RewardClient`` (sync) and ``AsyncRewardClient``.

Both split large batches into chunks, time out every call, and retry only what may succeed
on a second try (connection errors, 429/502/503/504) with jittered exponential backoff:
``retries`` more tries, or, given ``retry_budget_s``, as many as fit in that many seconds (long
enough to ride out a server restart). The API key is ``api_key``, else ``$REWARDGYM_API_KEY``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

import httpx
import orjson
from pydantic import TypeAdapter

from rewardgym.client.http_base import (
    JSON_HEADERS,
    SCORE_HEADERS,
    TRANSPORT_ERRORS,
    HttpClientBase,
    dump_json,
    raise_for_error,
)
from rewardgym.client.retry import (
    as_items,
    as_reward,
    call_deadline,
    timeout_for,
)
from rewardgym.errors import (
    ServerError,
)
from rewardgym.schema import (
    CompareItem,
    Item,
    LedgerEntry,
    OnError,
    Result,
    RewardInfo,
    RewardSpec,
    StreamItem,
    StreamResult,
)
from rewardgym.wire import lean_result_from

StreamSent = StreamItem | dict[str, Any]
_REWARD_LIST: TypeAdapter[list[RewardInfo]] = TypeAdapter(list[RewardInfo])

__all__ = [
    "AsyncRewardClient",
    "RewardClient",
    "ServerError",
    "as_items",
    "as_reward",
    "shared_client",
]

_SHARED: dict[tuple[int, str, str], RewardClient] = {}


def shared_client(base_url: str, **kwargs: Any) -> RewardClient:
    """One ``RewardClient`` per (URL, settings) in this process, made on first use. A reward
    function that calls this (rather than holding a client) pickles: trainers that ship reward
    functions to other processes (verl's remote reward workers, TRL's async trainer) can."""
    key = (os.getpid(), base_url, repr(sorted(kwargs.items())))  # a forked child gets its own
    client = _SHARED.get(key)
    if client is None:
        client = _SHARED[key] = RewardClient(base_url, **kwargs)
    return client


class RewardClient(HttpClientBase):
    """Blocking client. ``score`` returns one Result per item, in order.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8000``.
        timeout: seconds for each HTTP call (connect, read, write).
        retries: extra tries for retryable failures only.
        retry_budget_s: instead of a count, retry for up to this many seconds in all (the
            last try may end up to ``timeout`` later).
        chunk_size: items per request; larger batches are split and joined back in order.
        api_key: sent as a bearer token; default ``$REWARDGYM_API_KEY``.
        strict: validate every field of the server's answers (by default the results are
            built from the lean version 2 answer without a second validation: the server
            validated them; strict is for debugging a server you do not trust).
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8000", **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._http = httpx.Client(
            base_url=self.base_url, timeout=self.timeout, headers=self.headers
        )

    def _request(
        self, method: str, path: str, body: bytes | None = None, deadline: float | None = None
    ) -> httpx.Response:
        started = time.monotonic()
        attempt = 0
        while True:
            response: httpx.Response | httpx.TransportError
            try:
                response = self._http.request(
                    method,
                    path,
                    content=body,
                    headers=JSON_HEADERS if method == "GET" else SCORE_HEADERS,
                    timeout=timeout_for(self.timeout, deadline),
                )
            except TRANSPORT_ERRORS as exc:
                response = exc
            delay = self._next_delay(attempt, started, response, deadline)
            answer = self._outcome(attempt, path, response, last=delay is None)
            if answer is not None:
                return answer
            assert delay is not None
            time.sleep(delay)
            attempt += 1

    def score(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[Item | dict[str, Any]],
        *,
        on_error: OnError | None = None,
        deadline_s: float | None = None,
        ledger: bool = False,
    ) -> list[Result]:
        """Score items with a named reward or an inline spec. ``deadline_s`` bounds the whole
        call: the server stops scoring at it, and the client stops waiting (and retrying)
        shortly after. ``ledger``: record the results, each with its ``address``."""
        deadline = call_deadline(deadline_s)
        results: list[Result] = []
        for body in self._score_bodies(reward, items, on_error, deadline_s, ledger):
            reply = self._request("POST", "/v1/score", body, deadline)
            results.extend(self.decode(reply).results)
        return results

    def compare(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[CompareItem | dict[str, Any]],
        *,
        on_error: OnError | None = None,
        deadline_s: float | None = None,
        ledger: bool = False,
    ) -> list[Result]:
        """Rank responses with a preference reward (options as for ``score``)."""
        body = self._compare_body(reward, items, on_error, deadline_s, ledger)
        reply = self._request("POST", "/v1/compare", body, call_deadline(deadline_s))
        return self.decode(reply).results

    def rewards(self) -> list[RewardInfo]:
        """The server's named rewards."""
        return _REWARD_LIST.validate_json(self._request("GET", "/v1/rewards").content)

    def lookup(self, address: str) -> LedgerEntry:
        """The result the ledger holds at ``address`` (``NotFoundError`` when none)."""
        return LedgerEntry.model_validate_json(
            self._request("GET", f"/v1/ledger/{address}").content
        )

    def reward_health(self) -> list[dict[str, Any]]:
        """Each reward's health over its recent results (``GET /v1/health/rewards``)."""
        rewards: list[dict[str, Any]] = orjson.loads(
            self._request("GET", "/v1/health/rewards").content
        )["rewards"]
        return rewards

    def health(self) -> bool:
        """True when the server answers /readyz with 200."""
        try:
            return self._http.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RewardClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRewardClient(HttpClientBase):
    """Asyncio client; chunks of a large batch are sent concurrently (``max_concurrency``)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        max_concurrency: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, **kwargs)
        self.max_concurrency = max_concurrency
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, headers=self.headers
        )

    async def _request(
        self, method: str, path: str, body: bytes | None = None, deadline: float | None = None
    ) -> httpx.Response:
        started = time.monotonic()
        attempt = 0
        while True:
            response: httpx.Response | httpx.TransportError
            try:
                response = await self._http.request(
                    method,
                    path,
                    content=body,
                    headers=JSON_HEADERS if method == "GET" else SCORE_HEADERS,
                    timeout=timeout_for(self.timeout, deadline),
                )
            except TRANSPORT_ERRORS as exc:
                response = exc
            delay = self._next_delay(attempt, started, response, deadline)
            answer = self._outcome(attempt, path, response, last=delay is None)
            if answer is not None:
                return answer
            assert delay is not None
            await asyncio.sleep(delay)
            attempt += 1

    async def score(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[Item | dict[str, Any]],
        *,
        on_error: OnError | None = None,
        deadline_s: float | None = None,
        ledger: bool = False,
    ) -> list[Result]:
        """Score items; chunks go out concurrently and come back in order. Options as for
        ``RewardClient.score``."""
        deadline = call_deadline(deadline_s)
        limit = asyncio.Semaphore(self.max_concurrency)

        async def one(body: bytes) -> list[Result]:
            async with limit:
                data = await self._request("POST", "/v1/score", body, deadline)
            return self.decode(data).results

        parts = await asyncio.gather(
            *(one(b) for b in self._score_bodies(reward, items, on_error, deadline_s, ledger))
        )
        return [r for part in parts for r in part]

    async def compare(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[CompareItem | dict[str, Any]],
        *,
        on_error: OnError | None = None,
        deadline_s: float | None = None,
        ledger: bool = False,
    ) -> list[Result]:
        """Rank responses with a preference reward (options as for ``score``)."""
        body = self._compare_body(reward, items, on_error, deadline_s, ledger)
        reply = await self._request("POST", "/v1/compare", body, call_deadline(deadline_s))
        return self.decode(reply).results

    async def rewards(self) -> list[RewardInfo]:
        return _REWARD_LIST.validate_json((await self._request("GET", "/v1/rewards")).content)

    async def lookup(self, address: str) -> LedgerEntry:
        """As ``RewardClient.lookup``."""
        reply = await self._request("GET", f"/v1/ledger/{address}")
        return LedgerEntry.model_validate_json(reply.content)

    async def score_stream(
        self,
        items: AsyncIterable[StreamItem | dict[str, Any]] | Iterable[StreamItem | dict[str, Any]],
    ) -> AsyncIterator[StreamResult]:
        """Score a stream of ``StreamItem`` (``{"id", "reward", "item"}``) through
        ``POST /v1/score/stream``; yields each ``StreamResult`` as the server has it ready
        (completion order: match them by ``id``). Not retried: a stream cannot be replayed.
        Over HTTP/1.1 the answers start once the last item is sent; to score items while
        more are still coming, use the gRPC client's ``score_stream``."""

        async def lines() -> AsyncIterator[bytes]:
            if isinstance(items, AsyncIterable):
                async for sent in items:
                    yield _stream_line(sent)
            else:
                for sent in items:
                    yield _stream_line(sent)

        headers = {"content-type": "application/x-ndjson"}
        async with self._http.stream(
            "POST", "/v1/score/stream", content=lines(), headers=headers
        ) as response:
            if not response.is_success:
                await response.aread()
                raise_for_error(response)
            async for line in response.aiter_lines():
                if line.strip():
                    yield _stream_result(line)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRewardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _stream_line(sent: StreamSent) -> bytes:
    if isinstance(sent, StreamItem):
        return sent.model_dump_json(exclude_defaults=True).encode() + b"\n"
    return dump_json(sent) + b"\n"


def _stream_result(line: str) -> StreamResult:
    data = orjson.loads(line)
    result = data.get("result")
    return StreamResult(
        id=data["id"],
        result=None if result is None else lean_result_from(result),
        error=data.get("error"),
    )
