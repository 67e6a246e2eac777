"""Scoring as a stream: items arrive one by one (as a trainer's rollouts finish) and each
result goes back as soon as it is ready, the way verl's reward loop scores per sample.

Arriving items are gathered per reward for at most ``linger_s`` (or until ``max_batch``) and
scored as one batch through ``RewardService``, so a stream costs what batched calls cost.
At most ``max_in_flight`` items are taken before their results have gone back: past that, the
stream stops reading, and the transport's flow control (HTTP/2 windows for gRPC) holds the
sender back. An item that cannot be taken (an unknown reward, a spec the caller may not
send) gets its error on its own result line; the stream goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from pydantic import ValidationError

from rewardgym.errors import InvalidRequestError, RewardGymError, ServerError
from rewardgym.schema import ScoreOptions, ScoreRequest, StreamItem, StreamResult
from rewardgym.service import RewardService
from rewardgym.trust import OPERATOR, Caller

__all__ = ["StreamScorer", "paced", "refused"]


@dataclass
class _Batch:
    first: StreamItem
    items: list[StreamItem] = field(default_factory=list)


class StreamScorer:
    """Score a stream of ``StreamItem`` into a stream of ``StreamResult`` (completion order).

    Args:
        service: the service every front shares.
        caller: who sends the stream (its trust decides which inline specs it may send).
        max_batch: items of one reward scored together at most.
        linger_s: how long an item waits for others of its reward before its batch goes.
        max_in_flight: items taken and not yet answered, at most (back-pressure).
        deadline: ``time.monotonic()`` by which the whole stream must be answered (a gRPC
            call's deadline); each batch's own deadline is cut to it.
    """

    def __init__(
        self,
        service: RewardService,
        caller: Caller = OPERATOR,
        *,
        max_batch: int = 256,
        linger_s: float = 0.005,
        max_in_flight: int = 4096,
        deadline: float | None = None,
    ) -> None:
        self.service = service
        self.caller = caller
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.max_in_flight = max_in_flight
        self.deadline = deadline

    async def run(
        self, incoming: AsyncIterator[StreamItem | StreamResult]
    ) -> AsyncIterator[StreamResult]:
        """Results as they are ready; ends after the last item's result. A ``StreamResult``
        in ``incoming`` (a line the front could not read) passes straight through."""
        out: asyncio.Queue[StreamResult | None] = asyncio.Queue()
        room = asyncio.Semaphore(self.max_in_flight)
        batches: dict[str, _Batch] = {}
        tasks: set[asyncio.Task[None]] = set()

        async def score(batch: _Batch) -> None:
            first = batch.first
            request_options = first.options
            try:
                request = ScoreRequest(
                    reward=first.reward,
                    items=[s.item for s in batch.items],
                    options=ScoreOptions(
                        on_error=request_options.on_error,
                        deadline_s=self._deadline_s(request_options.deadline_s),
                    ),
                )
                response = await self.service.score(request, self.caller)
                for sent, result in zip(batch.items, response.results, strict=True):
                    await out.put(StreamResult(id=sent.id, result=result))
            except Exception as exc:
                error = exc if isinstance(exc, RewardGymError) else ServerError(repr(exc))
                for sent in batch.items:
                    await out.put(StreamResult(id=sent.id, error=error.to_dict()["error"]))

        def flush(key: str) -> None:
            batch = batches.pop(key, None)
            if batch is not None:
                task = asyncio.create_task(score(batch))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

        async def linger(key: str, batch: _Batch) -> None:
            await asyncio.sleep(self.linger_s)
            if batches.get(key) is batch:
                flush(key)

        async def read() -> None:
            try:
                async for sent in incoming:
                    await room.acquire()
                    if isinstance(sent, StreamResult):
                        await out.put(sent)
                        continue
                    key = _key(sent)
                    batch = batches.get(key)
                    if batch is None:
                        batch = batches[key] = _Batch(sent)
                        task = asyncio.create_task(linger(key, batch))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    batch.items.append(sent)
                    if len(batch.items) >= self.max_batch:
                        flush(key)
            finally:
                for key in list(batches):
                    flush(key)
                while tasks:
                    await asyncio.gather(*list(tasks), return_exceptions=True)
                await out.put(None)

        reader = asyncio.create_task(read())
        try:
            while True:
                result = await out.get()
                if result is None:
                    break
                room.release()
                yield result
            await reader  # the incoming stream's own error, if it had one
        finally:
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            for task in list(tasks):
                task.cancel()

    def _deadline_s(self, own: float | None) -> float | None:
        if self.deadline is None:
            return own
        left = max(self.deadline - time.monotonic(), 0.001)
        return min(own or math.inf, left)


async def paced(
    incoming: AsyncIterator[StreamItem | StreamResult], take: Callable[[], float], every: int
) -> AsyncIterator[StreamItem | StreamResult]:
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


def _key(sent: StreamItem) -> str:
    """Items share a batch when they name the same reward with the same options."""
    reward = sent.reward if isinstance(sent.reward, str) else sent.reward.model_dump_json()
    return f"{reward}\x00{sent.options.model_dump_json()}"
