"""The common wire schema: one shape for every reward, over HTTP, gRPC and in process."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MAX_DEADLINE_S",
    "Basis",
    "CompareItem",
    "CompareRequest",
    "Error",
    "ErrorType",
    "Expression",
    "Format",
    "Granularity",
    "Item",
    "LedgerEntry",
    "Message",
    "OnError",
    "Preference",
    "Result",
    "RewardInfo",
    "RewardSpec",
    "ScoreOptions",
    "ScoreRequest",
    "ScoreResponse",
    "StepScore",
    "StreamItem",
    "StreamResult",
    "Taxonomy",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Basis(StrEnum):
    """What a reward is built from."""

    RULE = "rule"
    MODEL = "model"
    JUDGE = "judge"
    HYBRID = "hybrid"


class Format(StrEnum):
    """The shape of what a reward returns."""

    SCALAR = "scalar"
    VECTOR = "vector"
    PREFERENCE = "preference"
    CRITIQUE = "critique"


class Expression(StrEnum):
    """Whether the reward is stated (explicit) or implied by a policy (implicit)."""

    EXPLICIT = "explicit"
    IMPLICIT = "implicit"


class Granularity(StrEnum):
    """What the reward is attached to."""

    OUTCOME = "outcome"
    STEP = "step"
    TOKEN = "token"


class Taxonomy(_Model):
    """A reward's place in the four-way taxonomy."""

    basis: Basis
    format: Format = Format.SCALAR
    expression: Expression = Expression.EXPLICIT
    granularity: Granularity = Granularity.OUTCOME


class Message(_Model):
    """One chat message, as trainers send them (OpenAI / TRL shape): ``content`` may be null
    (an assistant turn that only calls tools) or a list of parts (their text is joined);
    ``tool_calls`` and ``reasoning_content`` are kept for rewards that read them. Rewards score
    the text content. Other keys a chat template carries (``thinking``, ``channel``...) are
    accepted and dropped."""

    model_config = ConfigDict(extra="ignore")

    role: str = Field(min_length=1, max_length=64)
    content: str = ""
    reasoning_content: str | None = None
    tool_calls: list[dict[str, Any]] | None = Field(default=None, max_length=1024)
    tool_call_id: str | None = None
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _content_or_tool_calls(cls, value: Any) -> Any:
        if isinstance(value, dict) and "content" not in value and not value.get("tool_calls"):
            raise ValueError("a message needs content (null is allowed) or tool_calls")
        return value

    @field_validator("content", mode="before")
    @classmethod
    def _text_content(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list):  # [{"type": "text", "text": ...}, {"type": "image_url"...}]
            parts = [p.get("text") for p in value if isinstance(p, dict)]
            return "".join(p for p in parts if isinstance(p, str))
        return value


Text = str | list[Message]

MAX_DEADLINE_S = 3600.0
"""The longest deadline a request may carry (``ScoreOptions.deadline_s``)."""

OnError = Literal["null", "raise"] | Annotated[float, Field(allow_inf_nan=False, strict=True)]
"""What a failed item becomes: ``"null"`` (score null, error kept), a fixed score (error kept),
or ``"raise"`` (the whole request fails). The score is a JSON number: ``true`` or ``"1"`` is
refused, never read as a full reward."""


class Item(_Model):
    """One thing to score: a response to a prompt, with an optional reference."""

    prompt: Text = ""
    response: Text
    reference: Any = None
    steps: list[str] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class RewardSpec(_Model):
    """A reward described as data: in the YAML config, or inline in a request."""

    name: str | None = Field(default=None, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    weight: float | None = None
    description: str = ""
    on_error: OnError | None = None


class ScoreOptions(_Model):
    """Per-request knobs."""

    on_error: OnError | None = None
    deadline_s: Annotated[float, Field(gt=0, le=MAX_DEADLINE_S)] | None = None
    ledger: bool = Field(
        default=False,
        description="record each result in the reward ledger and return its content address "
        "(look it up at GET /v1/ledger/{address})",
    )


class ScoreRequest(_Model):
    """Score each item with one reward (by name, or an inline spec)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reward": "math",
                    "items": [{"prompt": "1+1?", "response": r"\boxed{2}", "reference": "2"}],
                },
                {
                    "reward": {"type": "string_check", "params": {"operation": "icontains"}},
                    "items": [{"response": "It is Paris.", "reference": "paris"}],
                    "options": {"on_error": "null", "deadline_s": 30},
                },
            ]
        }
    )

    reward: str | RewardSpec = Field(examples=["math", "exact_match"])
    items: list[Item] = Field(min_length=1)
    options: ScoreOptions = Field(default_factory=ScoreOptions)


class CompareItem(_Model):
    """Two or more responses to one prompt, to be ranked."""

    prompt: Text = ""
    responses: list[Text] = Field(min_length=2)
    reference: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class CompareRequest(_Model):
    """Rank the responses of each item with a preference reward."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reward": {"type": "string_check", "params": {"operation": "icontains"}},
                    "items": [{"prompt": "Capital of France?", "responses": ["Paris", "Rome"]}],
                }
            ]
        }
    )

    reward: str | RewardSpec = Field(examples=["math"])
    items: list[CompareItem] = Field(min_length=1)
    options: ScoreOptions = Field(default_factory=ScoreOptions)


class ErrorType(StrEnum):
    """Why an item has no reward."""

    TIMEOUT = "timeout"
    INVALID_INPUT = "invalid_input"
    JUDGE_PARSE_ERROR = "judge_parse_error"
    BACKEND_ERROR = "backend_error"
    WORKER_CRASHED = "worker_crashed"
    CONFIG_ERROR = "config_error"
    INTERNAL = "internal"


class Error(_Model):
    """Why one item has no reward. ``retryable`` says whether trying again may help."""

    type: ErrorType
    message: str
    retryable: bool = False


class StepScore(_Model):
    """The reward of one step of a response."""

    index: int
    text: str = ""
    score: float | None = None
    label: str | None = None


class Preference(_Model):
    """A ranking of responses (index 0 = first response), best first."""

    ranking: list[int]
    probabilities: list[float] | None = None
    consistent: bool | None = None


class Result(_Model):
    """The reward of one item. ``score`` is null exactly when ``error`` says why."""

    score: float | None = None
    scores: dict[str, float | None] = Field(default_factory=dict)
    steps: list[StepScore] | None = None
    preference: Preference | None = None
    critique: str | None = None
    error: Error | None = None
    cached: bool = False
    latency_ms: float = 0.0
    reward: str = ""
    taxonomy: Taxonomy | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    address: str | None = None
    """Its content address in the reward ledger, when it was recorded (``options.ledger``)."""


class ScoreResponse(_Model):
    """One result per item, in the order of the request."""

    reward: str
    results: list[Result]


class RewardInfo(_Model):
    """What ``GET /v1/rewards`` says of one named reward."""

    name: str
    type: str
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    taxonomy: Taxonomy


class LedgerEntry(_Model):
    """A recorded result (``GET /v1/ledger/{address}``): the item it was given, the result,
    which reward, the reward's implementation (what the address hashes besides the item) and
    when (epoch seconds)."""

    address: str
    reward: str
    created: float
    implementation: dict[str, Any]
    item: Item | CompareItem
    result: Result


class StreamItem(_Model):
    """One item of a scoring stream, sent when its rollout finishes; ``id`` is the caller's
    and comes back on its result (results arrive as they are ready, not in order)."""

    id: str = Field(min_length=1, max_length=200)
    reward: str | RewardSpec
    item: Item
    options: ScoreOptions = Field(default_factory=ScoreOptions)


class StreamResult(_Model):
    """The answer to one ``StreamItem``: its ``result``, or, when the item could not be taken
    at all (an unknown reward, a malformed line), ``error`` as the error body of a refused
    request (``code``, ``message``...)."""

    id: str
    result: Result | None = None
    error: dict[str, Any] | None = None
