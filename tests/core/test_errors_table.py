"""One error tree: its docstring's table is the classes' own attributes, every error crosses
both wire formats and comes back as the same class, with its type, index and retryable flag."""

from __future__ import annotations

import re

import grpc
import pytest

import rewardgym.errors as errors_module
from rewardgym.errors import (
    InvalidRequestError,
    ItemFailedError,
    NotImplementedYetError,
    RewardGymError,
    ServerError,
    UnsupportedOperationError,
    error_classes,
    error_from_wire,
)
from rewardgym.schema import Error, ErrorType

PLAIN = [c for c in error_classes() if c not in (ItemFailedError, RewardGymError)]


def _docstring_rows() -> dict[str, tuple[str, int, str, bool]]:
    rows = {}
    for line in (errors_module.__doc__ or "").splitlines():
        match = re.match(r"^[\s│├└─]*(\w+Error)\s+(\w+)\s+(\d+)\s+(\w+)\s*(yes)?\s*$", line)
        if match:
            name, code, status, grpc_code, retry = match.groups()
            rows[name] = (code, int(status), grpc_code, retry == "yes")
    return rows


def test_the_docstring_table_is_the_tree():
    rows = _docstring_rows()
    assert len(rows) == len(error_classes()) - 1  # ItemFailedError's status depends on the item
    for cls in error_classes():
        if cls is ItemFailedError:
            continue
        assert rows[cls.__name__] == (cls.code, cls.http_status, cls.grpc_code, cls.retryable)
        assert hasattr(grpc.StatusCode, cls.grpc_code), cls


def test_codes_name_one_class_each():
    codes = [c.code for c in error_classes() if c is not RewardGymError]
    assert len(codes) == len(set(codes))


def test_an_unsupported_operation_is_a_bad_request_not_a_missing_feature():
    assert issubclass(UnsupportedOperationError, InvalidRequestError)
    assert not issubclass(UnsupportedOperationError, NotImplementedYetError)
    assert UnsupportedOperationError.http_status == 422


@pytest.mark.parametrize("cls", PLAIN, ids=lambda c: c.__name__)
def test_every_error_comes_back_as_itself_over_both_wires(cls: type[RewardGymError]):
    sent = cls("what went wrong", retry_after_s=2) if cls.retryable else cls("what went wrong")
    body = sent.to_dict()["error"]
    assert body["retryable"] is cls.retryable
    over_http = error_from_wire(body, http_status=cls.http_status)
    over_grpc = error_from_wire(body, grpc_code=cls.grpc_code)
    for got in (over_http, over_grpc):
        assert type(got) is cls
        assert got.message.startswith("what went wrong")
        assert got.retryable is cls.retryable


def test_an_item_failure_keeps_its_index_type_and_retryable_flag():
    sent = ItemFailedError(
        4, Error(type=ErrorType.BACKEND_ERROR, message="judge down", retryable=True)
    )
    assert (sent.http_status, sent.grpc_code) == (422, "FAILED_PRECONDITION")
    for got in (
        error_from_wire(sent.to_dict()["error"], http_status=422),
        error_from_wire(sent.to_dict()["error"], grpc_code="FAILED_PRECONDITION"),
    ):
        assert isinstance(got, ItemFailedError)
        assert (got.index, got.error.type, got.error.retryable) == (4, "backend_error", True)
        assert got.retryable is False  # the request is not worth sending again


def test_without_a_body_the_status_picks_the_class():
    assert type(error_from_wire(None, http_status=404)).__name__ == "UnknownRewardError"
    assert type(error_from_wire({}, grpc_code="UNAVAILABLE")).__name__ == "UnavailableError"
    assert type(error_from_wire({"message": "?"}, http_status=599)) is ServerError
    assert type(error_from_wire({"code": "internal"}, http_status=500)) is ServerError


def test_a_long_item_error_still_crosses_grpc_whole():
    """gRPC's metadata budget: the messages are shortened, the JSON never cut."""
    import json

    from rewardgym.server.grpc_errors import error_object

    sent = ItemFailedError(2, Error(type=ErrorType.TIMEOUT, message="x" * 20_000))
    data = error_object(sent)
    assert len(data) <= 4096
    got = error_from_wire(json.loads(data), grpc_code="DEADLINE_EXCEEDED")
    assert isinstance(got, ItemFailedError)
    assert (got.index, got.error.type) == (2, "timeout")


def test_item_failed_without_its_item_is_still_not_a_retryable_timeout():
    got = error_from_wire({"code": "item_failed", "message": "item ? failed"}, http_status=504)
    assert isinstance(got, ItemFailedError)
    assert got.retryable is False


def test_http_protocol_errors_are_in_the_tree():
    from rewardgym.errors import HttpProtocolError

    sent = HttpProtocolError("no such path", 404)
    got = error_from_wire(sent.to_dict()["error"], http_status=404)
    assert type(got) is HttpProtocolError
