"""Stream items and stream results (``ScoreStream``) between the schema and the gRPC messages."""

from __future__ import annotations

from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto.convert_json import from_pb_json, plain, struct_to_pb
from rewardgym.proto.convert_requests import (
    item_from_pb,
    item_to_pb,
    options_from_pb,
    options_to_pb,
    reward_ref,
    set_reward_ref,
)
from rewardgym.proto.convert_results import result_from_pb, result_to_pb
from rewardgym.schema import StreamItem, StreamResult

__all__ = [
    "stream_item_from_pb",
    "stream_item_to_pb",
    "stream_result_from_pb",
    "stream_result_to_pb",
]


def stream_item_to_pb(sent: StreamItem) -> pb.StreamItem:
    msg = pb.StreamItem(id=sent.id, item=item_to_pb(sent.item), options=options_to_pb(sent.options))
    set_reward_ref(msg, sent.reward)
    return msg


def stream_item_from_pb(msg: pb.StreamItem) -> StreamItem:
    """Raises pydantic's ValidationError for an item that breaks the schema."""
    return StreamItem.model_validate(
        {
            "id": msg.id,
            "reward": reward_ref(msg),
            "item": item_from_pb(msg.item),
            "options": options_from_pb(msg.options),
        }
    )


def stream_result_to_pb(answer: StreamResult) -> pb.StreamResult:
    msg = pb.StreamResult(id=answer.id)
    if answer.result is not None:
        msg.result.CopyFrom(result_to_pb(answer.result))
    elif answer.error is not None:
        msg.error.CopyFrom(struct_to_pb(answer.error))
    return msg


def stream_result_from_pb(msg: pb.StreamResult) -> StreamResult:
    outcome = msg.WhichOneof("outcome")
    return StreamResult(
        id=msg.id,
        result=result_from_pb(msg.result) if outcome == "result" else None,
        error=plain(from_pb_json(msg.error)) if outcome == "error" else None,
    )
