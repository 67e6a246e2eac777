"""Convert between the pydantic schema and the gRPC messages (both directions, lossless):
requests in ``convert_requests``, results and reward descriptions in
``convert_results``, stream items and results in ``convert_stream``."""

from __future__ import annotations

from rewardgym.proto.convert_requests import (
    compare_request_from_pb,
    compare_request_to_pb,
    score_request_from_pb,
    score_request_to_pb,
)
from rewardgym.proto.convert_results import (
    ledger_entry_from_pb,
    ledger_entry_to_pb,
    reward_info_from_pb,
    reward_info_to_pb,
    score_response_from_pb,
    score_response_to_pb,
)
from rewardgym.proto.convert_stream import (
    stream_item_from_pb,
    stream_item_to_pb,
    stream_result_from_pb,
    stream_result_to_pb,
)

__all__ = [
    "compare_request_from_pb",
    "compare_request_to_pb",
    "ledger_entry_from_pb",
    "ledger_entry_to_pb",
    "reward_info_from_pb",
    "reward_info_to_pb",
    "score_request_from_pb",
    "score_request_to_pb",
    "score_response_from_pb",
    "score_response_to_pb",
    "stream_item_from_pb",
    "stream_item_to_pb",
    "stream_result_from_pb",
    "stream_result_to_pb",
]
