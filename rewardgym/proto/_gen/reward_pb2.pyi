from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Message(_message.Message):
    __slots__ = ("role", "content")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    def __init__(self, messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ...) -> None: ...

class Text(_message.Message):
    __slots__ = ("text", "messages")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    text: str
    messages: Conversation
    def __init__(self, text: _Optional[str] = ..., messages: _Optional[_Union[Conversation, _Mapping]] = ...) -> None: ...

class Steps(_message.Message):
    __slots__ = ("steps",)
    STEPS_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, steps: _Optional[_Iterable[str]] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("prompt", "response", "reference", "steps", "metadata")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    prompt: Text
    response: Text
    reference: _struct_pb2.Value
    steps: Steps
    metadata: _struct_pb2.Struct
    def __init__(self, prompt: _Optional[_Union[Text, _Mapping]] = ..., response: _Optional[_Union[Text, _Mapping]] = ..., reference: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., steps: _Optional[_Union[Steps, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class OnError(_message.Message):
    __slots__ = ("null_score", "value")
    NULL_SCORE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    RAISE_FIELD_NUMBER: _ClassVar[int]
    null_score: bool
    value: float
    def __init__(self, null_score: _Optional[bool] = ..., value: _Optional[float] = ..., **kwargs) -> None: ...

class RewardSpec(_message.Message):
    __slots__ = ("name", "type", "params", "weight", "description", "on_error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    params: _struct_pb2.Struct
    weight: float
    description: str
    on_error: OnError
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., weight: _Optional[float] = ..., description: _Optional[str] = ..., on_error: _Optional[_Union[OnError, _Mapping]] = ...) -> None: ...

class ScoreOptions(_message.Message):
    __slots__ = ("on_error", "deadline_s", "ledger")
    ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_S_FIELD_NUMBER: _ClassVar[int]
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    on_error: OnError
    deadline_s: float
    ledger: bool
    def __init__(self, on_error: _Optional[_Union[OnError, _Mapping]] = ..., deadline_s: _Optional[float] = ..., ledger: _Optional[bool] = ...) -> None: ...

class ScoreRequest(_message.Message):
    __slots__ = ("name", "spec", "items", "options")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: RewardSpec
    items: _containers.RepeatedCompositeFieldContainer[Item]
    options: ScoreOptions
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[RewardSpec, _Mapping]] = ..., items: _Optional[_Iterable[_Union[Item, _Mapping]]] = ..., options: _Optional[_Union[ScoreOptions, _Mapping]] = ...) -> None: ...

class CompareItem(_message.Message):
    __slots__ = ("prompt", "responses", "reference", "metadata")
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    prompt: Text
    responses: _containers.RepeatedCompositeFieldContainer[Text]
    reference: _struct_pb2.Value
    metadata: _struct_pb2.Struct
    def __init__(self, prompt: _Optional[_Union[Text, _Mapping]] = ..., responses: _Optional[_Iterable[_Union[Text, _Mapping]]] = ..., reference: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class CompareRequest(_message.Message):
    __slots__ = ("name", "spec", "items", "options")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    spec: RewardSpec
    items: _containers.RepeatedCompositeFieldContainer[CompareItem]
    options: ScoreOptions
    def __init__(self, name: _Optional[str] = ..., spec: _Optional[_Union[RewardSpec, _Mapping]] = ..., items: _Optional[_Iterable[_Union[CompareItem, _Mapping]]] = ..., options: _Optional[_Union[ScoreOptions, _Mapping]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("type", "message", "retryable")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    retryable: bool
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ..., retryable: _Optional[bool] = ...) -> None: ...

class StepScore(_message.Message):
    __slots__ = ("index", "text", "score", "label")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    index: int
    text: str
    score: float
    label: str
    def __init__(self, index: _Optional[int] = ..., text: _Optional[str] = ..., score: _Optional[float] = ..., label: _Optional[str] = ...) -> None: ...

class Preference(_message.Message):
    __slots__ = ("ranking", "probabilities", "consistent")
    RANKING_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONSISTENT_FIELD_NUMBER: _ClassVar[int]
    ranking: _containers.RepeatedScalarFieldContainer[int]
    probabilities: _containers.RepeatedScalarFieldContainer[float]
    consistent: bool
    def __init__(self, ranking: _Optional[_Iterable[int]] = ..., probabilities: _Optional[_Iterable[float]] = ..., consistent: _Optional[bool] = ...) -> None: ...

class Taxonomy(_message.Message):
    __slots__ = ("basis", "format", "expression", "granularity")
    BASIS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    basis: str
    format: str
    expression: str
    granularity: str
    def __init__(self, basis: _Optional[str] = ..., format: _Optional[str] = ..., expression: _Optional[str] = ..., granularity: _Optional[str] = ...) -> None: ...

class Result(_message.Message):
    __slots__ = ("score", "scores", "null_scores", "steps", "has_steps", "preference", "critique", "error", "cached", "latency_ms", "reward", "taxonomy", "metadata", "address")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    NULL_SCORES_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    HAS_STEPS_FIELD_NUMBER: _ClassVar[int]
    PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    CRITIQUE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    TAXONOMY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    score: float
    scores: _containers.ScalarMap[str, float]
    null_scores: _containers.RepeatedScalarFieldContainer[str]
    steps: _containers.RepeatedCompositeFieldContainer[StepScore]
    has_steps: bool
    preference: Preference
    critique: str
    error: Error
    cached: bool
    latency_ms: float
    reward: str
    taxonomy: Taxonomy
    metadata: _struct_pb2.Struct
    address: str
    def __init__(self, score: _Optional[float] = ..., scores: _Optional[_Mapping[str, float]] = ..., null_scores: _Optional[_Iterable[str]] = ..., steps: _Optional[_Iterable[_Union[StepScore, _Mapping]]] = ..., has_steps: _Optional[bool] = ..., preference: _Optional[_Union[Preference, _Mapping]] = ..., critique: _Optional[str] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., cached: _Optional[bool] = ..., latency_ms: _Optional[float] = ..., reward: _Optional[str] = ..., taxonomy: _Optional[_Union[Taxonomy, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., address: _Optional[str] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ("reward", "results")
    REWARD_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    reward: str
    results: _containers.RepeatedCompositeFieldContainer[Result]
    def __init__(self, reward: _Optional[str] = ..., results: _Optional[_Iterable[_Union[Result, _Mapping]]] = ...) -> None: ...

class ListRewardsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RewardInfo(_message.Message):
    __slots__ = ("name", "type", "description", "params", "taxonomy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    TAXONOMY_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    description: str
    params: _struct_pb2.Struct
    taxonomy: Taxonomy
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., description: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., taxonomy: _Optional[_Union[Taxonomy, _Mapping]] = ...) -> None: ...

class ListRewardsResponse(_message.Message):
    __slots__ = ("rewards",)
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    rewards: _containers.RepeatedCompositeFieldContainer[RewardInfo]
    def __init__(self, rewards: _Optional[_Iterable[_Union[RewardInfo, _Mapping]]] = ...) -> None: ...

class StreamItem(_message.Message):
    __slots__ = ("id", "name", "spec", "item", "options")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    spec: RewardSpec
    item: Item
    options: ScoreOptions
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., spec: _Optional[_Union[RewardSpec, _Mapping]] = ..., item: _Optional[_Union[Item, _Mapping]] = ..., options: _Optional[_Union[ScoreOptions, _Mapping]] = ...) -> None: ...

class StreamResult(_message.Message):
    __slots__ = ("id", "result", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: Result
    error: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., result: _Optional[_Union[Result, _Mapping]] = ..., error: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class LedgerLookupRequest(_message.Message):
    __slots__ = ("address",)
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    address: str
    def __init__(self, address: _Optional[str] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("address", "reward", "created", "implementation", "scored", "compared", "result")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTATION_FIELD_NUMBER: _ClassVar[int]
    SCORED_FIELD_NUMBER: _ClassVar[int]
    COMPARED_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    address: str
    reward: str
    created: float
    implementation: _struct_pb2.Struct
    scored: Item
    compared: CompareItem
    result: Result
    def __init__(self, address: _Optional[str] = ..., reward: _Optional[str] = ..., created: _Optional[float] = ..., implementation: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., scored: _Optional[_Union[Item, _Mapping]] = ..., compared: _Optional[_Union[CompareItem, _Mapping]] = ..., result: _Optional[_Union[Result, _Mapping]] = ...) -> None: ...
