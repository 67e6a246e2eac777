"""Results, score responses, reward descriptions and ledger entries between the pydantic
schema and the gRPC messages (lossless)."""

from __future__ import annotations

from rewardgym.proto._gen import reward_pb2 as pb
from rewardgym.proto.convert_json import from_pb_json, plain, struct_to_pb
from rewardgym.proto.convert_requests import (
    compare_item_from_pb,
    compare_item_to_pb,
    item_from_pb,
    item_to_pb,
)
from rewardgym.schema import (
    Basis,
    CompareItem,
    Error,
    ErrorType,
    Expression,
    Format,
    Granularity,
    Item,
    LedgerEntry,
    Preference,
    Result,
    RewardInfo,
    ScoreResponse,
    StepScore,
    Taxonomy,
)

__all__ = [
    "ledger_entry_from_pb",
    "ledger_entry_to_pb",
    "result_from_pb",
    "result_to_pb",
    "reward_info_from_pb",
    "reward_info_to_pb",
    "score_response_from_pb",
    "score_response_to_pb",
]


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


def result_to_pb(r: Result) -> pb.Result:
    msg = pb.Result(
        scores={k: v for k, v in r.scores.items() if v is not None},
        null_scores=[k for k, v in r.scores.items() if v is None],
        cached=r.cached,
        latency_ms=r.latency_ms,
        reward=r.reward,
        metadata=struct_to_pb(r.metadata),
        has_steps=r.steps is not None,
    )
    if r.score is not None:
        msg.score = r.score
    if r.address is not None:
        msg.address = r.address
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


def result_from_pb(msg: pb.Result) -> Result:
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
        metadata=plain(from_pb_json(msg.metadata)),
        address=msg.address if msg.HasField("address") else None,
    )


def score_response_to_pb(response: ScoreResponse) -> pb.ScoreResponse:
    return pb.ScoreResponse(
        reward=response.reward, results=[result_to_pb(r) for r in response.results]
    )


def score_response_from_pb(msg: pb.ScoreResponse) -> ScoreResponse:
    return ScoreResponse(reward=msg.reward, results=[result_from_pb(r) for r in msg.results])


def reward_info_to_pb(info: RewardInfo) -> pb.RewardInfo:
    return pb.RewardInfo(
        name=info.name,
        type=info.type,
        description=info.description,
        params=struct_to_pb(info.params),
        taxonomy=_taxonomy_to_pb(info.taxonomy),
    )


def reward_info_from_pb(msg: pb.RewardInfo) -> RewardInfo:
    return RewardInfo(
        name=msg.name,
        type=msg.type,
        description=msg.description,
        params=plain(from_pb_json(msg.params)),
        taxonomy=_taxonomy_from_pb(msg.taxonomy),
    )


def ledger_entry_to_pb(entry: LedgerEntry) -> pb.LedgerEntry:
    msg = pb.LedgerEntry(
        address=entry.address,
        reward=entry.reward,
        created=entry.created,
        implementation=struct_to_pb(entry.implementation),
        result=result_to_pb(entry.result),
    )
    if isinstance(entry.item, Item):
        msg.scored.CopyFrom(item_to_pb(entry.item))
    else:
        msg.compared.CopyFrom(compare_item_to_pb(entry.item))
    return msg


def ledger_entry_from_pb(msg: pb.LedgerEntry) -> LedgerEntry:
    item: Item | CompareItem = (
        Item.model_validate(item_from_pb(msg.scored))
        if msg.WhichOneof("item") == "scored"
        else compare_item_from_pb(msg.compared)
    )
    return LedgerEntry(
        address=msg.address,
        reward=msg.reward,
        created=msg.created,
        implementation=plain(from_pb_json(msg.implementation)),
        item=item,
        result=result_from_pb(msg.result),
    )
