"""``POST /v1/score/stream``: NDJSON in, NDJSON out, each result as soon as it is ready.

Over HTTP/1.1 the request body arrives whole before the answer starts (the body-size limit
reads it first); results then stream back as each is scored. For items sent while more are
still being generated, the gRPC ``ScoreStream`` is the full-duplex form.

Each line of the body is a ``StreamItem`` (``{"id": ..., "reward": ..., "item": {...}}``);
each line of the answer is ``{"id": ..., "result": {...}}`` (the result in the lean version 2
form, with its reward and taxonomy) or ``{"id": ..., "error": {...}}`` for a line that could
not be taken, in the order the results are ready. A malformed line is answered on its own
(its id when it has one, else ``line N``); the rest of the stream is scored.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from rewardgym.schema import StreamItem, StreamResult
from rewardgym.server.auth import Guard
from rewardgym.server.routes._deps import get_caller, get_service
from rewardgym.service import RewardService
from rewardgym.streaming import Incoming, StreamScorer, paced, refused
from rewardgym.trust import Caller
from rewardgym.wire import lean_result

__all__ = ["NDJSON", "router"]

router = APIRouter(prefix="/v1", tags=["score"])

NDJSON = "application/x-ndjson"


def _line_id(line: bytes, number: int) -> str:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return f"line {number}"
    if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
        return str(value["id"])[:200]
    return f"line {number}"


def _parse(line: bytes, number: int) -> StreamItem | StreamResult:
    try:
        return StreamItem.model_validate_json(line)
    except ValidationError as exc:
        return refused(exc, _line_id(line, number), f"line {number}")


async def _items(body: bytes) -> AsyncIterator[Incoming]:
    for number, line in enumerate(body.split(b"\n"), start=1):
        if line.strip():
            yield _parse(line, number), len(line)


def _line(answer: StreamResult) -> bytes:
    body: dict[str, object] = {"id": answer.id}
    if answer.result is not None:
        body["result"] = lean_result(answer.result, "", None)
    if answer.error is not None:
        body["error"] = answer.error
    return orjson.dumps(body) + b"\n"


@router.post(
    "/score/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}, "description": "one result line per item line"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            # Described as text: OpenAPI has no way to say "lines, each a StreamItem", and
            # clients that generate requests from the schema (schemathesis) cannot write
            # application/x-ndjson. The route reads the body whatever its content type.
            "description": "NDJSON: one StreamItem (see the schema of that name) per line",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def score_stream(
    request: Request,
    service: RewardService = Depends(get_service),
    caller: Caller = Depends(get_caller),
) -> StreamingResponse:
    """Score NDJSON ``StreamItem`` lines; answer NDJSON result lines as each is ready."""
    scorer = StreamScorer(service, caller)
    guard = Guard.for_service(service)
    # Read whole here: the server has buffered it already (the body-size limit reads it
    # first), and a streaming answer listens on the same channel for the client leaving.
    body = await request.body()

    async def lines() -> AsyncIterator[bytes]:
        items = _items(body)
        if guard.buckets is not None and caller.key_id is not None:
            take = functools.partial(guard.buckets.take, caller.key_id)
            items = paced(items, take, service.settings.max_items)
        async with contextlib.aclosing(scorer.run(items)) as answers:
            async for answer in answers:
                yield _line(answer)

    return StreamingResponse(lines(), media_type=NDJSON)
