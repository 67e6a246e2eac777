"""One HTTP exchange with the reward server, shared by the sync and async clients: the
request bodies, the decision after each try (return the body, try again, or raise the error
the server sent), and what is worth a second try."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from typing import Any

import httpx
import orjson

from rewardgym.client.retry import DEADLINE_GRACE_S, RetryPolicy, as_reward, chunks
from rewardgym.config import client_settings
from rewardgym.errors import (
    ItemFailedError,
    RequestTimeoutError,
    UnavailableError,
    error_from_wire,
)
from rewardgym.schema import (
    MAX_DEADLINE_S,
    CompareItem,
    CompareRequest,
    Item,
    OnError,
    RewardSpec,
    ScoreOptions,
    ScoreResponse,
)
from rewardgym.wire import JSON_MEDIA_TYPE, V2_MEDIA_TYPE, decode_score_response

__all__ = [
    "JSON_HEADERS",
    "RETRY_STATUS",
    "SCORE_HEADERS",
    "TRANSPORT_ERRORS",
    "HttpClientBase",
    "dump_json",
    "raise_for_error",
]

RETRY_STATUS = frozenset({429, 502, 503, 504})
JSON_HEADERS = {"content-type": "application/json"}
SCORE_HEADERS = {**JSON_HEADERS, "accept": f"{V2_MEDIA_TYPE}, {JSON_MEDIA_TYPE};q=0.5"}
"""Score and compare calls ask for the lean version 2 (a server that predates it answers
version 1, and the decoder reads either)."""
TRANSPORT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def dump_json(value: Any) -> bytes:
    """A request body as JSON: orjson where it can say the same as the standard library
    (about 15 times faster), the standard library otherwise (an integer past 64 bits, a
    non-finite float that the server should refuse rather than read as null)."""
    try:
        body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode()
    if b"null" in body and _has_non_finite(value):
        return json.dumps(value, ensure_ascii=False).encode()
    return body


def _has_non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, float) and not math.isfinite(current):
            return True
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list | tuple):
            stack.extend(current)
    return False


def raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json().get("error", {})
    except (ValueError, AttributeError):
        body = {"message": response.text[:500]}
    raise error_from_wire(body, http_status=response.status_code, status=response.status_code)


def _item_failed(response: httpx.Response) -> bool:
    """A 504 for an item that timed out under ``on_error: raise``: asking again would only
    time out again, so it is not retried."""
    with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
        return bool(response.json()["error"]["code"] == ItemFailedError.code)
    return False


def _retry_after(response: httpx.Response | httpx.TransportError) -> float:
    """The server's ``Retry-After`` in seconds (at most 30), or 0."""
    if isinstance(response, httpx.Response):
        with contextlib.suppress(ValueError):
            return min(float(response.headers.get("retry-after", 0)), 30.0)
    return 0.0


class HttpClientBase:
    """What the sync and async HTTP clients share: settings, request bodies, and the
    decision after each try (return, retry, or raise)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.25,
        chunk_size: int = 1024,
        api_key: str | None = None,
        retry_budget_s: float | None = None,
        strict: bool = False,
    ) -> None:
        self.strict = strict
        self.retry = RetryPolicy(retries=retries, backoff_s=backoff_s, budget_s=retry_budget_s)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.chunk_size = chunk_size
        api_key = api_key or client_settings().api_key or None
        self.headers = {"authorization": f"Bearer {api_key}"} if api_key else {}

    def _next_delay(
        self,
        attempt: int,
        started: float,
        response: httpx.Response | httpx.TransportError,
        deadline: float | None,
    ) -> float | None:
        """Seconds to wait before the next try, or None when there is no next try."""
        wait = _retry_after(response)
        return self.retry.next_delay(attempt, started, at_least=wait, deadline=deadline)

    def server_deadline(self, deadline_s: float | None) -> float:
        """The deadline a request carries: the caller's, else one that ends before this
        client stops waiting (so the server answers with timed-out items rather than work on
        for a client that has gone, and a retry never scores the same batch twice at once)."""
        if deadline_s is not None:
            return deadline_s
        return min(max(self.timeout - DEADLINE_GRACE_S, self.timeout / 2), MAX_DEADLINE_S)

    def _compare_body(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[CompareItem | dict[str, Any]],
        on_error: OnError | None,
        deadline_s: float | None,
        ledger: bool = False,
    ) -> bytes:
        request = CompareRequest(
            reward=as_reward(reward),
            items=[CompareItem.model_validate(i) for i in items],
            options=ScoreOptions(
                on_error=on_error, deadline_s=self.server_deadline(deadline_s), ledger=ledger
            ),
        )
        return request.model_dump_json(exclude_none=True).encode()

    def _score_bodies(
        self,
        reward: str | RewardSpec | dict[str, Any],
        items: Sequence[Item | dict[str, Any]],
        on_error: OnError | None,
        deadline_s: float | None,
        ledger: bool = False,
    ) -> list[bytes]:
        # Plain dicts go out as they are: the server validates every item (and says which
        # field is wrong), so validating here too would only double the work.
        options = ScoreOptions(
            on_error=on_error, deadline_s=self.server_deadline(deadline_s), ledger=ledger
        )
        head = {
            "reward": reward.model_dump(mode="json") if isinstance(reward, RewardSpec) else reward,
            "options": options.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
        }
        plain = [
            i.model_dump(mode="json", exclude_none=True) if isinstance(i, Item) else i
            for i in items
        ]
        return [dump_json({**head, "items": chunk}) for chunk in chunks(plain, self.chunk_size)]

    def decode(self, response: httpx.Response) -> ScoreResponse:
        """A score or compare answer, in either wire version; ``strict`` validates it all."""
        return decode_score_response(
            response.content, response.headers.get("content-type"), strict=self.strict
        )

    def _outcome(
        self, attempt: int, path: str, response: httpx.Response | httpx.TransportError, last: bool
    ) -> httpx.Response | None:
        """The answer to return, or None to try again; raises when there is no point."""
        tries = f" ({attempt + 1} tries)" if attempt else ""
        if isinstance(response, httpx.ConnectTimeout):  # never reached: unavailable
            if last:
                raise UnavailableError(
                    f"cannot reach {self.base_url}{tries}: no connection within {self.timeout} s"
                ) from response
            return None
        if isinstance(response, httpx.TimeoutException):
            if last:
                raise RequestTimeoutError(
                    f"{self.base_url}{path} did not answer within {self.timeout} s{tries}"
                ) from response
            return None
        if isinstance(response, httpx.TransportError):
            if last:
                raise UnavailableError(
                    f"cannot reach {self.base_url}{tries}: {response}"
                ) from response
            return None
        if response.status_code in RETRY_STATUS and not last and not _item_failed(response):
            return None
        raise_for_error(response)
        return response
