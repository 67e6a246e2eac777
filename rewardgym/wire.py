"""The lean wire format of a score response (version 2), and its decoder.

Version 1 (``application/json``, what every client gets unless it asks for more) spells out
each result in full: its reward name, its taxonomy and every default field. Version 2
(``application/vnd.rewardgym.v2+json``, asked for with ``Accept``) keeps the same meaning in
fewer bytes:

- the reward name and taxonomy are said once, at the top; a result repeats them only where
  they differ (a composite's part);
- a field at its default (``error: null``, ``cached: false``, ``scores: {}``...) is left out;
- ``latency_ms`` is rounded to the microsecond.

``{"wire": 2, "reward": "math", "taxonomy": {"basis": "rule"}, "results": [{"score": 1.0,
"latency_ms": 0.41}]}`` decodes to the same ``ScoreResponse`` as its version 1 body. The
Python clients ask for version 2 and build the results without validating them again (the
server did); ``strict=True`` validates every field, for debugging.
"""

from __future__ import annotations

from typing import Any

import orjson

from rewardgym.schema import (
    Error,
    ErrorType,
    Preference,
    Result,
    ScoreResponse,
    StepScore,
    Taxonomy,
)
from rewardgym.trusted import RESULT_DEFAULTS, trusted

__all__ = [
    "JSON_MEDIA_TYPE",
    "V2_MEDIA_TYPE",
    "decode_score_response",
    "encode_v2",
    "lean_result",
    "lean_result_from",
    "wants_v2",
]

JSON_MEDIA_TYPE = "application/json"
V2_MEDIA_TYPE = "application/vnd.rewardgym.v2+json"


def wants_v2(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for version 2."""
    return bool(accept) and V2_MEDIA_TYPE in accept  # type: ignore[operator]


def _taxonomy_json(taxonomy: Taxonomy | None) -> Any:
    return None if taxonomy is None else taxonomy.model_dump(mode="json", exclude_defaults=True)


def lean_result(result: Result, reward: str, top: Taxonomy | None) -> dict[str, Any]:
    """One result in version 2: defaults left out, and ``reward`` and ``taxonomy`` only where
    they differ from the response's."""
    fields = result.__dict__
    item: dict[str, Any] = {}
    score = fields["score"]
    if score is not None:
        item["score"] = score
    if fields["scores"]:
        item["scores"] = fields["scores"]
    if fields["steps"] is not None:
        item["steps"] = [s.model_dump(mode="json", exclude_defaults=True) for s in fields["steps"]]
    if fields["preference"] is not None:
        item["preference"] = fields["preference"].model_dump(mode="json", exclude_none=True)
    if fields["critique"] is not None:
        item["critique"] = fields["critique"]
    error = fields["error"]
    if error is not None:
        item["error"] = {"type": error.type.value, "message": error.message}
        if error.retryable:
            item["error"]["retryable"] = True
    if fields["cached"]:
        item["cached"] = True
    latency = fields["latency_ms"]
    if latency:
        item["latency_ms"] = round(latency, 3)
    if fields["reward"] != reward:
        item["reward"] = fields["reward"]
    taxonomy = fields["taxonomy"]
    if taxonomy is not top and taxonomy != top:
        item["taxonomy"] = _taxonomy_json(taxonomy)
    if fields["metadata"]:
        item["metadata"] = fields["metadata"]
    if fields["address"] is not None:
        item["address"] = fields["address"]
    return item


def lean_result_from(lean: dict[str, Any]) -> Result:
    """A result ``lean_result(result, "", None)`` wrote (a line of a scoring stream)."""
    return _result(lean, "", None)


def encode_v2(response: ScoreResponse) -> bytes:
    """The version 2 body of a response."""
    results = response.results
    top = results[0].taxonomy if results else None
    body: dict[str, Any] = {"wire": 2, "reward": response.reward}
    if top is not None:
        body["taxonomy"] = _taxonomy_json(top)
    lean = [lean_result(result, response.reward, top) for result in results]
    body["results"] = lean
    return orjson.dumps(body)


_PLAIN = frozenset(
    {"score", "scores", "critique", "cached", "latency_ms", "reward", "metadata", "address"}
)


def _error(lean: dict[str, Any]) -> Error:
    return trusted(
        Error,
        {
            "type": ErrorType(lean["type"]),
            "message": lean["message"],
            "retryable": lean.get("retryable", False),
        },
    )


def _result(lean: dict[str, Any], reward: str, taxonomy: Taxonomy | None) -> Result:
    fields = RESULT_DEFAULTS.copy()
    fields["scores"] = {}
    fields["metadata"] = {}
    fields["reward"] = reward
    fields["taxonomy"] = taxonomy
    for key, value in lean.items():
        if key in _PLAIN:
            fields[key] = value
        elif key == "error":
            fields["error"] = _error(value)
        elif key == "steps":
            fields["steps"] = [StepScore.model_validate(s) for s in value]
        elif key == "preference":
            fields["preference"] = Preference.model_validate(value)
        elif key == "taxonomy":
            fields["taxonomy"] = None if value is None else Taxonomy(**value)
        # any other key is a field a newer server added: dropped, not set on a model that
        # does not know it
    return trusted(Result, fields)


def decode_score_response(
    body: bytes, content_type: str | None, *, strict: bool = False
) -> ScoreResponse:
    """A ``ScoreResponse`` from either version's body (the ``Content-Type`` says which).
    ``strict``: validate every field, as for a body from an unknown server."""
    if not content_type or V2_MEDIA_TYPE not in content_type:
        return ScoreResponse.model_validate_json(body)
    data = orjson.loads(body)
    reward = data["reward"]
    top = data.get("taxonomy")
    if strict:
        results = [
            Result.model_validate({"reward": reward, "taxonomy": top, **lean})
            for lean in data["results"]
        ]
        return ScoreResponse(reward=reward, results=results)
    taxonomy = None if top is None else Taxonomy(**top)
    made = [_result(lean, reward, taxonomy) for lean in data["results"]]
    return trusted(ScoreResponse, {"reward": reward, "results": made})
