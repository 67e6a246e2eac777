"""Convert between the pydantic schema and the gRPC messages (both directions, lossless)."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2

from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.schema import (
    Basis,
    CompareItem,
    CompareRequest,
    Error,
    ErrorType,
    Expression,
    Format,
    Granularity,
    Item,
    Message,
    OnError,
    Preference,
    Result,
    RewardInfo,
    RewardSpec,
    ScoreOptions,
    ScoreRequest,
    ScoreResponse,
    StepScore,
    Taxonomy,
)

__all__ = [
    "compare_request_from_pb",
    "compare_request_to_pb",
    "reward_info_from_pb",
    "reward_info_to_pb",
    "score_request_from_pb",
    "score_request_to_pb",
    "score_response_from_pb",
    "score_response_to_pb",
]


# --- shared pieces ---------------------------------------------------------------------------


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


def _value_to_pb(value: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    json_format.ParseDict(value, out)
    return out


def _struct_to_pb(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    json_format.ParseDict(value, out)
    return out


def _from_pb_json(value: Any) -> Any:
    return json_format.MessageToDict(value)


def _number(value: float) -> float | int:
    """Struct numbers are doubles; give back ints where they were ints."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return _number(value)
    return value


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
        params=_struct_to_pb(spec.params),
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
        params=_plain(_from_pb_json(msg.params)),
        weight=msg.weight if msg.HasField("weight") else None,
        description=msg.description,
        on_error=_on_error_from_pb(msg.on_error, msg.HasField("on_error")),
    )


def _options_to_pb(options: ScoreOptions) -> pb.ScoreOptions:
    msg = pb.ScoreOptions()
    policy = _on_error_to_pb(options.on_error)
    if policy is not None:
        msg.on_error.CopyFrom(policy)
    if options.deadline_s is not None:
        msg.deadline_s = options.deadline_s
    return msg


def _options_from_pb(msg: pb.ScoreOptions) -> ScoreOptions:
    return ScoreOptions(
        on_error=_on_error_from_pb(msg.on_error, msg.HasField("on_error")),
        deadline_s=msg.deadline_s if msg.HasField("deadline_s") else None,
    )


def _reward_ref(msg: Any) -> str | RewardSpec:
    if msg.WhichOneof("reward") == "spec":
        return _spec_from_pb(msg.spec)
    return str(msg.name)


def _set_reward_ref(msg: Any, ref: str | RewardSpec) -> None:
    if isinstance(ref, str):
        msg.name = ref
    else:
        msg.spec.CopyFrom(_spec_to_pb(ref))


# --- requests --------------------------------------------------------------------------------


def _item_to_pb(item: Item) -> pb.Item:
    msg = pb.Item(
        prompt=_text_to_pb(item.prompt),
        response=_text_to_pb(item.response),
        metadata=_struct_to_pb(item.metadata),
    )
    if item.reference is not None:
        msg.reference.CopyFrom(_value_to_pb(item.reference))
    if item.steps is not None:
        msg.steps.CopyFrom(pb.Steps(steps=item.steps))
    return msg


def _item_from_pb(msg: pb.Item) -> dict[str, Any]:
    return {
        "prompt": _text_from_pb(msg.prompt),
        "response": _text_from_pb(msg.response),
        "reference": _plain(_from_pb_json(msg.reference)) if msg.HasField("reference") else None,
        "steps": list(msg.steps.steps) if msg.HasField("steps") else None,
        "metadata": _plain(_from_pb_json(msg.metadata)),
    }


def score_request_to_pb(request: ScoreRequest) -> pb.ScoreRequest:
    msg = pb.ScoreRequest(
        items=[_item_to_pb(i) for i in request.items], options=_options_to_pb(request.options)
    )
    _set_reward_ref(msg, request.reward)
    return msg


def score_request_from_pb(msg: pb.ScoreRequest) -> ScoreRequest:
    """Raises pydantic's ValidationError for a request that breaks the schema."""
    return ScoreRequest.model_validate(
        {
            "reward": _reward_ref(msg),
            "items": [_item_from_pb(i) for i in msg.items],
            "options": _options_from_pb(msg.options),
        }
    )


def compare_request_to_pb(request: CompareRequest) -> pb.CompareRequest:
    items = []
    for item in request.items:
        one = pb.CompareItem(
            prompt=_text_to_pb(item.prompt),
            responses=[_text_to_pb(r) for r in item.responses],
            metadata=_struct_to_pb(item.metadata),
        )
        if item.reference is not None:
            one.reference.CopyFrom(_value_to_pb(item.reference))
        items.append(one)
    msg = pb.CompareRequest(items=items, options=_options_to_pb(request.options))
    _set_reward_ref(msg, request.reward)
    return msg


def compare_request_from_pb(msg: pb.CompareRequest) -> CompareRequest:
    items = [
        CompareItem.model_validate(
            {
                "prompt": _text_from_pb(i.prompt),
                "responses": [_text_from_pb(r) for r in i.responses],
                "reference": _plain(_from_pb_json(i.reference))
                if i.HasField("reference")
                else None,
                "metadata": _plain(_from_pb_json(i.metadata)),
            }
        )
        for i in msg.items
    ]
    return CompareRequest(
        reward=_reward_ref(msg), items=items, options=_options_from_pb(msg.options)
    )


# --- responses -------------------------------------------------------------------------------


def _taxonomy_to_pb(t: Taxonomy | None) -> pb.Taxonomy | None:
    if t is None:
        return None
    return pb.Taxonomy(
        basis=t.basis, format=t.format, expression=t.expression, granularity=t.granularity
    )


def _taxonomy_from_pb(msg: pb.Taxonomy) -> Taxonomy:
    return Taxonomy(
        basis=Basis(msg.basis),
        format=Format(msg.format),
        expression=Expression(msg.expression),
        granularity=Granularity(msg.granularity),
    )


def _result_to_pb(r: Result) -> pb.Result:
    msg = pb.Result(
        scores={k: v for k, v in r.scores.items() if v is not None},
        null_scores=[k for k, v in r.scores.items() if v is None],
        cached=r.cached,
        latency_ms=r.latency_ms,
        reward=r.reward,
        metadata=_struct_to_pb(r.metadata),
        has_steps=r.steps is not None,
    )
    if r.score is not None:
        msg.score = r.score
    for s in r.steps or []:
        step = pb.StepScore(index=s.index, text=s.text)
        if s.score is not None:
            step.score = s.score
        if s.label is not None:
            step.label = s.label
        msg.steps.append(step)
    if r.preference is not None:
        msg.preference.ranking.extend(r.preference.ranking)
        msg.preference.probabilities.extend(r.preference.probabilities or [])
        if r.preference.consistent is not None:
            msg.preference.consistent = r.preference.consistent
    if r.critique is not None:
        msg.critique = r.critique
    if r.error is not None:
        msg.error.CopyFrom(
            pb.Error(type=r.error.type, message=r.error.message, retryable=r.error.retryable)
        )
    taxonomy = _taxonomy_to_pb(r.taxonomy)
    if taxonomy is not None:
        msg.taxonomy.CopyFrom(taxonomy)
    return msg


def _result_from_pb(msg: pb.Result) -> Result:
    scores: dict[str, float | None] = dict(msg.scores)
    scores.update({k: None for k in msg.null_scores})
    preference = None
    if msg.HasField("preference"):
        p = msg.preference
        preference = Preference(
            ranking=list(p.ranking),
            probabilities=list(p.probabilities) or None,
            consistent=p.consistent if p.HasField("consistent") else None,
        )
    return Result(
        score=msg.score if msg.HasField("score") else None,
        scores=scores,
        steps=[
            StepScore(
                index=s.index,
                text=s.text,
                score=s.score if s.HasField("score") else None,
                label=s.label if s.HasField("label") else None,
            )
            for s in msg.steps
        ]
        if msg.has_steps
        else None,
        preference=preference,
        critique=msg.critique if msg.HasField("critique") else None,
        error=Error(
            type=ErrorType(msg.error.type),
            message=msg.error.message,
            retryable=msg.error.retryable,
        )
        if msg.HasField("error")
        else None,
        cached=msg.cached,
        latency_ms=msg.latency_ms,
        reward=msg.reward,
        taxonomy=_taxonomy_from_pb(msg.taxonomy) if msg.HasField("taxonomy") else None,
        metadata=_plain(_from_pb_json(msg.metadata)),
    )


def score_response_to_pb(response: ScoreResponse) -> pb.ScoreResponse:
    return pb.ScoreResponse(
        reward=response.reward, results=[_result_to_pb(r) for r in response.results]
    )


def score_response_from_pb(msg: pb.ScoreResponse) -> ScoreResponse:
    return ScoreResponse(reward=msg.reward, results=[_result_from_pb(r) for r in msg.results])


def reward_info_to_pb(info: RewardInfo) -> pb.RewardInfo:
    return pb.RewardInfo(
        name=info.name,
        type=info.type,
        description=info.description,
        params=_struct_to_pb(info.params),
        taxonomy=_taxonomy_to_pb(info.taxonomy),
    )


def reward_info_from_pb(msg: pb.RewardInfo) -> RewardInfo:
    return RewardInfo(
        name=msg.name,
        type=msg.type,
        description=msg.description,
        params=_plain(_from_pb_json(msg.params)),
        taxonomy=_taxonomy_from_pb(msg.taxonomy),
    )
