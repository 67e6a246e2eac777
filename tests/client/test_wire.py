"""The lean wire format (version 2): same meaning as version 1 in fewer bytes, negotiated with
``Accept`` so that clients that predate it keep getting version 1."""

from __future__ import annotations

import httpx
import orjson
import pytest
from pydantic import ValidationError

from rewardgym.client import AsyncRewardClient, RewardClient
from rewardgym.client.http_base import dump_json
from rewardgym.schema import (
    Basis,
    Error,
    ErrorType,
    Format,
    Preference,
    Result,
    ScoreResponse,
    StepScore,
    Taxonomy,
)
from rewardgym.wire import JSON_MEDIA_TYPE, V2_MEDIA_TYPE, decode_score_response, encode_v2
from tests.conftest import Server

RULE = Taxonomy(basis=Basis.RULE)


def _every_kind_of_result() -> ScoreResponse:
    judge = Taxonomy(basis=Basis.JUDGE, format=Format.PREFERENCE)
    return ScoreResponse(
        reward="mixed",
        results=[
            Result(score=1.0, latency_ms=0.4567, reward="mixed", taxonomy=RULE),
            Result(
                score=0.5,
                scores={"pass_rate": 0.5, "other": None},
                steps=[StepScore(index=0, text="a", score=1.0, label="pass"), StepScore(index=1)],
                metadata={"nested": {"x": [1, 2.5, None, "é"]}},
                cached=True,
                reward="mixed",
                taxonomy=RULE,
            ),
            Result(
                error=Error(type=ErrorType.TIMEOUT, message="too slow", retryable=True),
                reward="mixed",
                taxonomy=RULE,
            ),
            Result(
                score=0.0,
                preference=Preference(ranking=[1, 0], probabilities=[0.3, 0.7], consistent=False),
                critique="the second is better",
                reward="a_judge_part",
                taxonomy=judge,
            ),
            Result(score=0.25, reward="mixed", taxonomy=None),
        ],
    )


def _rounded(response: ScoreResponse) -> list[dict[str, object]]:
    dumped = response.model_dump(mode="json")["results"]
    for result in dumped:
        result["latency_ms"] = round(result["latency_ms"], 3)
    return dumped


def test_v2_says_what_v1_says_for_every_kind_of_result():
    original = _every_kind_of_result()
    body = encode_v2(original)
    decoded = decode_score_response(body, V2_MEDIA_TYPE)
    assert decoded.reward == original.reward
    assert _rounded(decoded) == _rounded(original)
    # The strict path (full validation) reads the same thing.
    assert _rounded(decode_score_response(body, V2_MEDIA_TYPE, strict=True)) == _rounded(original)
    # Results decoded without validation are ordinary models: they compare, dump and copy.
    assert decoded.results[1].steps == original.results[1].steps
    assert decoded.results[2].error == original.results[2].error
    assert decoded.results[0].model_copy(update={"score": 0.0}).score == 0.0
    assert Result.model_validate(decoded.results[3].model_dump()) == decoded.results[3]


def test_v2_leaves_out_defaults_and_says_reward_and_taxonomy_once():
    data = orjson.loads(encode_v2(_every_kind_of_result()))
    assert data["wire"] == 2 and data["taxonomy"] == {"basis": "rule"}
    first, _, failed, judged, untyped = data["results"]
    assert first == {"score": 1.0, "latency_ms": 0.457}
    assert "score" not in failed and failed["error"]["retryable"] is True
    assert judged["reward"] == "a_judge_part"
    assert judged["taxonomy"] == {"basis": "judge", "format": "preference"}
    assert untyped["taxonomy"] is None


def test_decoder_reads_v1_by_content_type_and_drops_fields_it_does_not_know():
    original = _every_kind_of_result()
    v1 = original.model_dump_json().encode()
    assert decode_score_response(v1, JSON_MEDIA_TYPE) == original
    newer = b'{"wire": 2, "reward": "r", "results": [{"score": 1.0, "from_the_future": 7}]}'
    [result] = decode_score_response(newer, V2_MEDIA_TYPE).results
    assert result.score == 1.0 and "from_the_future" not in result.model_dump()


def test_strict_decoding_refuses_a_malformed_answer():
    bad = b'{"wire": 2, "reward": "r", "results": [{"score": "lots"}]}'
    with pytest.raises(ValidationError):
        decode_score_response(bad, V2_MEDIA_TYPE, strict=True)


def test_request_bodies_keep_what_the_standard_library_would_send():
    assert orjson.loads(dump_json({"a": "é", 1: [1.5, None]})) == {"a": "é", "1": [1.5, None]}
    # orjson would write NaN as null and refuse a 65-bit integer; the server must see them.
    assert b"NaN" in dump_json({"x": float("nan"), "y": None})
    assert str(2**70).encode() in dump_json({"big": 2**70})


ITEMS = [{"response": f"City {i}.", "reference": f"city {i % 7}"} for i in range(200)] + [
    {"response": "no reference"}
]


def test_old_clients_get_v1_and_new_ones_v2_from_a_real_server(server: Server):
    body = {"reward": "exact_match", "items": ITEMS}
    with httpx.Client(base_url=server.url, timeout=60) as http:
        old = http.post("/v1/score", json=body)
        new = http.post("/v1/score", json=body, headers={"accept": V2_MEDIA_TYPE})
    assert old.headers["content-type"] == JSON_MEDIA_TYPE
    assert new.headers["content-type"] == V2_MEDIA_TYPE
    v1 = ScoreResponse.model_validate_json(old.content)  # exactly what an old client does
    v2 = decode_score_response(new.content, new.headers["content-type"])
    assert [(r.score, r.error) for r in v1.results] == [(r.score, r.error) for r in v2.results]
    assert v1.results[-1].error is not None and v1.results[-1].score is None
    print(f"\nbytes per result: v1 {len(old.content) / 201:.0f}, v2 {len(new.content) / 201:.0f}")
    assert len(new.content) * 4 < len(old.content)


def test_clients_decode_v2_to_the_results_v1_gives(server: Server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        v1 = ScoreResponse.model_validate_json(
            http.post("/v1/score", json={"reward": "exact_match", "items": ITEMS}).content
        ).results
    with RewardClient(server.url) as client, RewardClient(server.url, strict=True) as strict:
        lean = client.score("exact_match", ITEMS)
        checked = strict.score("exact_match", ITEMS)
    for got in (lean, checked):
        assert [(r.score, r.error, r.reward, r.taxonomy) for r in got] == [
            (r.score, r.error, r.reward, r.taxonomy) for r in v1
        ]


@pytest.mark.asyncio
async def test_async_client_decodes_v2(server: Server):
    async with AsyncRewardClient(server.url, chunk_size=64) as client:
        results = await client.score("exact_match", ITEMS)
    assert len(results) == len(ITEMS) and results[0].score == 1.0 and results[8].score == 0.0
    assert results[-1].error is not None and results[-1].score is None
    assert results[0].taxonomy == RULE and results[0].reward == "exact_match"
