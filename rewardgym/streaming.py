"""Scoring as a stream: items arrive one by one (as a trainer's rollouts finish) and each
result goes back as soon as it is ready, the way verl's reward loop scores per sample.

Arriving items are gathered per reward for at most ``linger_s`` (or until ``max_batch``) and
scored as one batch through ``RewardService``, so a stream costs what batched calls cost.
A batch's results go back together: a slow item holds back the others of its batch, which is
why batches stay small (64 by default; arriving items rarely fill one).
At most ``max_in_flight`` items, and ``max_bytes`` of them, are taken before their results
have gone back: past either, the stream stops reading, and the transport's flow control
(HTTP/2 windows for gRPC) holds the sender back. An item that cannot be taken (an unknown
reward, a spec the caller may not send) gets its error on its own result line; so does an
item that fails under ``on_error: raise`` (the stream, unlike a request, goes on). When the
reader of the results goes away, the items still being scored are cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from rewardgym.errors import InvalidRequestError, ItemFailedError, RewardGymError, ServerError
from rewardgym.on_error import apply_on_error
from rewardgym.schema import OnError, Result, ScoreOptions, ScoreRequest, StreamItem, StreamResult
from rewardgym.service import RewardService
from rewardgym.trust import OPERATOR, Caller

__all__ = ["Incoming", "StreamScorer", "paced", "refused", "refused_value"]

Incoming = tuple[StreamItem | StreamResult, int]
"""An arriving item (or a line already answered with its error) and its size in bytes."""


@dataclass
class _Batch:
    first: StreamItem
    items: list[tuple[StreamItem, int]] = field(default_factory=list)


class _Budget:
    """Items and bytes taken and not yet answered; ``take`` waits for room (one item always
    fits, however large, when nothing else is in flight)."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.items = 0
        self.bytes = 0
        self._room = asyncio.Condition()

    async def take(self, size: int) -> None:
        async with self._room:
            await self._room.wait_for(
                lambda: (
                    self.items == 0
                    or (self.items < self.max_items and self.bytes + size <= self.max_bytes)
                )
            )
            self.items += 1
            self.bytes += size

    async def give_back(self, size: int) -> None:
        async with self._room:
            self.items -= 1
            self.bytes -= size
            self._room.notify_all()


class StreamScorer:
    """Score a stream of ``StreamItem`` into a stream of ``StreamResult`` (completion order).

    Args:
        service: the service every front shares.
        caller: who sends the stream (its trust decides which inline specs it may send).
        max_batch: items of one reward scored together at most (never above the server's
            ``max_items``).
        linger_s: how long an item waits for others of its reward before its batch goes.
        max_in_flight: items taken and not yet answered, at most (back-pressure).
        max_bytes: bytes of items taken and not yet answered, at most (default: the
            server's ``max_body_bytes``, what one request may carry).
        deadline: ``time.monotonic()`` by which the whole stream must be answered (a gRPC
            call's deadline); each batch's own deadline is cut to it.
    """

    def __init__(
        self,
        service: RewardService,
        caller: Caller = OPERATOR,
        *,
        max_batch: int = 64,
        linger_s: float = 0.005,
        max_in_flight: int = 4096,
        max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> None:
        self.service = service
        self.caller = caller
        self.max_batch = max(1, min(max_batch, service.settings.max_items))
        self.linger_s = linger_s
        self.max_in_flight = max_in_flight
        self.max_bytes = max_bytes or service.settings.max_body_bytes
        self.deadline = deadline

    async def run(self, incoming: AsyncIterator[Incoming]) -> AsyncGenerator[StreamResult, None]:
        """Results as they are ready; ends after the last item's result. A ``StreamResult``
        in ``incoming`` (a line the front could not read) passes straight through."""
        out: asyncio.Queue[tuple[StreamResult, int] | None] = asyncio.Queue()
        budget = _Budget(self.max_in_flight, self.max_bytes)
        batches: dict[str, _Batch] = {}
        tasks: set[asyncio.Task[None]] = set()

        def start(coro: Any) -> None:
            task = asyncio.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        def flush(key: str) -> None:
            batch = batches.pop(key, None)
            if batch is not None:
                start(self._score(batch, out))

        async def linger(key: str, batch: _Batch) -> None:
            await asyncio.sleep(self.linger_s)
            if batches.get(key) is batch:
                flush(key)

        async def read() -> None:
            try:
                async for sent, size in incoming:
                    await budget.take(size)
                    if isinstance(sent, StreamResult):
                        out.put_nowait((sent, size))
                        continue
                    key = _key(sent)
                    batch = batches.get(key)
                    if batch is None:
                        batch = batches[key] = _Batch(sent)
                        start(linger(key, batch))
                    batch.items.append((sent, size))
                    if len(batch.items) >= self.max_batch:
                        flush(key)
                for key in list(batches):
                    flush(key)
                while tasks:
                    await asyncio.gather(*list(tasks), return_exceptions=True)
            finally:
                out.put_nowait(None)  # the end, also when reading failed or was cancelled

        reader = asyncio.create_task(read())
        try:
            while (answer := await out.get()) is not None:
                await budget.give_back(answer[1])
                yield answer[0]
            await reader  # the incoming stream's own error, if it had one
        finally:
            # The reader of the results left (or the stream failed): what is still being
            # scored for it is cancelled, not left running for no one.
            reader.cancel()
            for task in list(tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            if tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)

    async def _score(
        self, batch: _Batch, out: asyncio.Queue[tuple[StreamResult, int] | None]
    ) -> None:
        first = batch.first
        try:
            policy = self.service.on_error_policy(first.reward, first.options, self.caller)
            # Failed items stay errors here; each gets its policy on its own below, so one
            # failure under "raise" fails that item, not the items batched with it.
            request = ScoreRequest(
                reward=first.reward,
                items=[sent.item for sent, _ in batch.items],
                options=ScoreOptions(
                    on_error="null",
                    deadline_s=self._deadline_s(first.options.deadline_s),
                    ledger=first.options.ledger,
                ),
            )
            response = await self.service.score(request, self.caller)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc if isinstance(exc, RewardGymError) else ServerError(repr(exc))
            for sent, size in batch.items:
                out.put_nowait((StreamResult(id=sent.id, error=error.to_dict()["error"]), size))
            return
        for (sent, size), result in zip(batch.items, response.results, strict=True):
            out.put_nowait((_answer(sent.id, result, policy), size))

    def _deadline_s(self, own: float | None) -> float | None:
        if self.deadline is None:
            return own
        left = max(self.deadline - time.monotonic(), 0.001)
        return min(own or math.inf, left)


def _answer(item_id: str, result: Result, policy: OnError) -> StreamResult:
    """One item's answer under its policy: ``"raise"`` makes a failed item an error line."""
    try:
        [result] = apply_on_error([result], policy)
    except ItemFailedError as exc:
        error = exc.to_dict()["error"]
        error.pop("index", None)
        error["message"] = f"item {item_id!r} failed ({exc.error.type}): {exc.error.message}"
        return StreamResult(id=item_id, error=error)
    return StreamResult(id=item_id, result=result)


async def paced(
    incoming: AsyncIterator[Incoming], take: Callable[[], float], every: int
) -> AsyncIterator[Incoming]:
    """``incoming``, charged to the caller's rate limit as the batched calls it replaces
    would be: the stream itself was one request; each further ``every`` items (the server's
    items per request) take one more. ``take`` returns 0 when it took a request, else the
    seconds until one is free; reading waits that long, so a stream past its key's rate
    slows down (its sender held back by flow control) instead of failing."""
    count = 0
    async for sent in incoming:
        count += 1
        if count > every and (count - 1) % every == 0:
            while (wait := take()) > 0:
                await asyncio.sleep(wait)
        yield sent


def refused(exc: ValidationError, item_id: str, where: str) -> StreamResult:
    """The answer to a stream item that breaks the schema: an ``invalid_request`` error body
    naming its fields, under the item's id."""
    fields = ", ".join(".".join(map(str, e["loc"])) or "item" for e in exc.errors()[:5])
    error = InvalidRequestError(
        f"{where}: invalid fields: {fields}",
        errors=[
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False)[:20]
        ],
    )
    return StreamResult(id=item_id, error=error.to_dict()["error"])


def refused_value(reason: str, item_id: str, where: str) -> StreamResult:
    """The answer to a stream item that could not be read at all (a value JSON cannot hold,
    a message that does not decode): an ``invalid_request`` error saying why."""
    error = InvalidRequestError(f"{where}: {reason}")
    return StreamResult(id=item_id, error=error.to_dict()["error"])


def _key(sent: StreamItem) -> str:
    """Items share a batch when they name the same reward with the same options."""
    reward = sent.reward if isinstance(sent.reward, str) else sent.reward.model_dump_json()
    return f"{reward}\x00{sent.options.model_dump_json()}"
