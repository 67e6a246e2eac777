"""Score and compare requests between the pydantic schema and the gRPC messages (lossless)."""

from __future__ import annotations

from typing import Any

from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto.convert_json import from_pb_json, plain, struct_to_pb, value_to_pb
from rewardgym.schema import (
    CompareItem,
    CompareRequest,
    Item,
    Message,
    OnError,
    RewardSpec,
    ScoreOptions,
    ScoreRequest,
)

__all__ = [
    "compare_request_from_pb",
    "compare_request_to_pb",
    "item_from_pb",
    "item_to_pb",
    "options_from_pb",
    "options_to_pb",
    "reward_ref",
    "score_request_from_pb",
    "score_request_to_pb",
    "set_reward_ref",
]


def _text_to_pb(value: str | list[Message]) -> pb.Text:
    if isinstance(value, str):
        return pb.Text(text=value)
    return pb.Text(
        messages=pb.Conversation(
            messages=[pb.Message(role=m.role, content=m.content) for m in value]
        )
    )


def _text_from_pb(value: pb.Text) -> str | list[Message]:
    if value.WhichOneof("kind") == "messages":
        return [Message(role=m.role, content=m.content) for m in value.messages.messages]
    return value.text


def _on_error_to_pb(policy: OnError | None) -> pb.OnError | None:
    if policy is None:
        return None
    if policy == "null":
        return pb.OnError(null_score=True)
    if policy == "raise":
        return pb.OnError(**{"raise": True})  # 'raise' is a Python keyword
    return pb.OnError(value=float(policy))


def _on_error_from_pb(msg: pb.OnError, present: bool) -> OnError | None:
    if not present:
        return None
    which = msg.WhichOneof("policy")
    if which == "value":
        return msg.value
    if which == "raise":
        return "raise"
    return "null" if which == "null_score" else None


def _spec_to_pb(spec: RewardSpec) -> pb.RewardSpec:
    msg = pb.RewardSpec(
        name=spec.name or "",
        type=spec.type,
        description=spec.description,
        params=struct_to_pb(spec.params),
    )
    if spec.weight is not None:
        msg.weight = spec.weight
    policy = _on_error_to_pb(spec.on_error)
    if policy is not None:
        msg.on_error.CopyFrom(policy)
    return msg


def _spec_from_pb(msg: pb.RewardSpec) -> RewardSpec:
    return RewardSpec(
        name=msg.name or None,
        type=msg.type,
        params=plain(from_pb_json(msg.params)),
        weight=msg.weight if msg.HasField("weight") else None,
        description=msg.description,
        on_error=_on_error_from_pb(msg.on_error, msg.HasField("on_error")),
    )


def options_to_pb(options: ScoreOptions) -> pb.ScoreOptions:
    msg = pb.ScoreOptions()
    policy = _on_error_to_pb(options.on_error)
    if policy is not None:
        msg.on_error.CopyFrom(policy)
    if options.deadline_s is not None:
        msg.deadline_s = options.deadline_s
    msg.ledger = options.ledger
    return msg


def options_from_pb(msg: pb.ScoreOptions) -> ScoreOptions:
    return ScoreOptions(
        on_error=_on_error_from_pb(msg.on_error, msg.HasField("on_error")),
        deadline_s=msg.deadline_s if msg.HasField("deadline_s") else None,
        ledger=msg.ledger,
    )


def reward_ref(msg: Any) -> str | RewardSpec:
    if msg.WhichOneof("reward") == "spec":
        return _spec_from_pb(msg.spec)
    return str(msg.name)


def set_reward_ref(msg: Any, ref: str | RewardSpec) -> None:
    if isinstance(ref, str):
        msg.name = ref
    else:
        msg.spec.CopyFrom(_spec_to_pb(ref))


def item_to_pb(item: Item) -> pb.Item:
    msg = pb.Item(
        prompt=_text_to_pb(item.prompt),
        response=_text_to_pb(item.response),
        metadata=struct_to_pb(item.metadata),
    )
    if item.reference is not None:
        msg.reference.CopyFrom(value_to_pb(item.reference))
    if item.steps is not None:
        msg.steps.CopyFrom(pb.Steps(steps=item.steps))
    return msg


def item_from_pb(msg: pb.Item) -> dict[str, Any]:
    return {
        "prompt": _text_from_pb(msg.prompt),
        "response": _text_from_pb(msg.response),
        "reference": plain(from_pb_json(msg.reference)) if msg.HasField("reference") else None,
        "steps": list(msg.steps.steps) if msg.HasField("steps") else None,
        "metadata": plain(from_pb_json(msg.metadata)),
    }


def score_request_to_pb(request: ScoreRequest) -> pb.ScoreRequest:
    msg = pb.ScoreRequest(
        items=[item_to_pb(i) for i in request.items], options=options_to_pb(request.options)
    )
    set_reward_ref(msg, request.reward)
    return msg


def score_request_from_pb(msg: pb.ScoreRequest) -> ScoreRequest:
    """Raises pydantic's ValidationError for a request that breaks the schema."""
    return ScoreRequest.model_validate(
        {
            "reward": reward_ref(msg),
            "items": [item_from_pb(i) for i in msg.items],
            "options": options_from_pb(msg.options),
        }
    )


def compare_item_to_pb(item: CompareItem) -> pb.CompareItem:
    msg = pb.CompareItem(
        prompt=_text_to_pb(item.prompt),
        responses=[_text_to_pb(r) for r in item.responses],
        metadata=struct_to_pb(item.metadata),
    )
    if item.reference is not None:
        msg.reference.CopyFrom(value_to_pb(item.reference))
    return msg


def compare_item_from_pb(msg: pb.CompareItem) -> CompareItem:
    return CompareItem.model_validate(
        {
            "prompt": _text_from_pb(msg.prompt),
            "responses": [_text_from_pb(r) for r in msg.responses],
            "reference": plain(from_pb_json(msg.reference)) if msg.HasField("reference") else None,
            "metadata": plain(from_pb_json(msg.metadata)),
        }
    )


def compare_request_to_pb(request: CompareRequest) -> pb.CompareRequest:
    items = [compare_item_to_pb(item) for item in request.items]
    msg = pb.CompareRequest(items=items, options=options_to_pb(request.options))
    set_reward_ref(msg, request.reward)
    return msg


def compare_request_from_pb(msg: pb.CompareRequest) -> CompareRequest:
    items = [compare_item_from_pb(i) for i in msg.items]
    return CompareRequest(reward=reward_ref(msg), items=items, options=options_from_pb(msg.options))
