"""One error tree for rewardgym, one table from each error to its wire forms, one decoder.

The tree (code · HTTP status · gRPC status · retryable)::

    RewardGymError                    internal              500  INTERNAL
    ├── InvalidRequestError           invalid_request       422  INVALID_ARGUMENT
    │   ├── ConfigError               config_error          422  INVALID_ARGUMENT
    │   └── UnsupportedOperationError unsupported_operation 422  UNIMPLEMENTED
    ├── UnknownRewardError            unknown_reward        404  NOT_FOUND
    ├── NotFoundError                 not_found             404  NOT_FOUND
    ├── UnauthorizedError             unauthorized          401  UNAUTHENTICATED
    ├── ForbiddenError                forbidden             403  PERMISSION_DENIED
    ├── PayloadTooLargeError          payload_too_large     413  RESOURCE_EXHAUSTED
    ├── RateLimitedError              rate_limited          429  RESOURCE_EXHAUSTED   yes
    ├── UnavailableError              unavailable           503  UNAVAILABLE          yes
    │   └── OverloadedError           overloaded            503  UNAVAILABLE          yes
    ├── RequestTimeoutError           timeout               504  DEADLINE_EXCEEDED    yes
    ├── NotImplementedYetError        not_implemented       501  UNIMPLEMENTED
    ├── ServerError                   internal              500  INTERNAL
    ├── HttpProtocolError             http_error            400  INVALID_ARGUMENT
    └── ItemFailedError               item_failed     504 / 422  DEADLINE_EXCEEDED /
                                                                 FAILED_PRECONDITION  never

``ItemFailedError`` is one item's failure under ``on_error: raise`` (``rewardgym.on_error``):
504 when the item timed out, else 422. It carries the item's index and its ``Error`` (type,
message, retryable); no client resends a request that failed so, since the same items
would fail again.

Both fronts send an error as the same object, ``{"code", "message", "retryable", ...}``:
HTTP as the body's ``error``, gRPC in the ``rewardgym-error-bin`` trailer. Both clients turn
it back into the same class with ``error_from_wire``. ``RewardError`` is not part of the tree:
a reward raises it for one item and it becomes that item's ``Error`` (data, not a failure).
"""

from __future__ import annotations

from typing import Any

from rewardgym.schema import Error, ErrorType

__all__ = [
    "ConfigError",
    "ForbiddenError",
    "HttpProtocolError",
    "InvalidRequestError",
    "ItemFailedError",
    "NotFoundError",
    "NotImplementedYetError",
    "OverloadedError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RequestTimeoutError",
    "RewardError",
    "RewardGymError",
    "ServerError",
    "UnauthorizedError",
    "UnavailableError",
    "UnknownRewardError",
    "UnsupportedOperationError",
    "error_classes",
    "error_from_wire",
]


class RewardGymError(Exception):
    """Base of every error rewardgym raises on purpose.

    ``code`` names it on the wire; ``http_status`` and ``grpc_code`` (a ``grpc.StatusCode``
    name) say how each front reports it; ``retryable`` says whether the same request may
    succeed later.
    """

    http_status = 500
    grpc_code = "INTERNAL"
    code = "internal"
    retryable = False

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        """The JSON body both fronts send for this error."""
        body = {"code": self.code, "message": self.message, "retryable": self.retryable}
        return {"error": {**body, **self.detail}}


class InvalidRequestError(RewardGymError):
    """A request whose content is wrong (bad params, bad field)."""

    http_status = 422
    grpc_code = "INVALID_ARGUMENT"
    code = "invalid_request"


class ConfigError(InvalidRequestError):
    """A reward spec that cannot be built (bad params, bad pattern, missing dependency)."""

    code = "config_error"


class UnsupportedOperationError(InvalidRequestError):
    """A request this reward cannot serve (compare with a scalar reward): the caller's choice
    of reward is wrong, so HTTP says 422; gRPC says UNIMPLEMENTED for the method."""

    grpc_code = "UNIMPLEMENTED"
    code = "unsupported_operation"


class UnknownRewardError(RewardGymError):
    """A reward name (or type) that is not registered."""

    http_status = 404
    grpc_code = "NOT_FOUND"
    code = "unknown_reward"


class NotFoundError(RewardGymError):
    """Nothing is kept under what was asked for (a ledger address)."""

    http_status = 404
    grpc_code = "NOT_FOUND"
    code = "not_found"


class UnauthorizedError(RewardGymError):
    """No API key, or one the server does not accept."""

    http_status = 401
    grpc_code = "UNAUTHENTICATED"
    code = "unauthorized"


class ForbiddenError(RewardGymError):
    """A caller asked for something only an operator may set (an inline spec's host-touching
    parameter, or inline specs where they are off)."""

    http_status = 403
    grpc_code = "PERMISSION_DENIED"
    code = "forbidden"


class PayloadTooLargeError(RewardGymError):
    """A body or a batch over the configured limit."""

    http_status = 413
    grpc_code = "RESOURCE_EXHAUSTED"
    code = "payload_too_large"


class RateLimitedError(RewardGymError):
    """An API key over its rate; retry after ``retry_after_s``."""

    http_status = 429
    grpc_code = "RESOURCE_EXHAUSTED"
    code = "rate_limited"
    retryable = True


class UnavailableError(RewardGymError):
    """The server cannot be reached, or cannot serve now; try again later."""

    http_status = 503
    grpc_code = "UNAVAILABLE"
    code = "unavailable"
    retryable = True


class OverloadedError(UnavailableError):
    """The server is up but cannot take more work now (or is shutting down)."""

    code = "overloaded"


class RequestTimeoutError(RewardGymError):
    """No answer within the time allowed (the client's timeout or the request's deadline)."""

    http_status = 504
    grpc_code = "DEADLINE_EXCEEDED"
    code = "timeout"
    retryable = True


class NotImplementedYetError(RewardGymError):
    """An operation this server does not offer."""

    http_status = 501
    grpc_code = "UNIMPLEMENTED"
    code = "not_implemented"


class ServerError(RewardGymError):
    """The server failed in a way it did not expect (a bug), or answered with an error this
    client has no closer class for."""


class HttpProtocolError(RewardGymError):
    """An HTTP request that never reached an endpoint: a body that is not JSON (400), a path
    that does not exist (404), a method the path does not take (405). ``status`` is the one
    HTTP gave it; gRPC has no such failure."""

    http_status = 400
    grpc_code = "INVALID_ARGUMENT"
    code = "http_error"

    def __init__(self, message: str, status: int = 400, **detail: Any) -> None:
        super().__init__(message, **detail)
        self.http_status = status


class ItemFailedError(RewardGymError):
    """An item failed under ``on_error: raise``; the request fails as a whole."""

    code = "item_failed"
    retryable = False  # the request: the same items would fail again

    def __init__(self, index: int, error: Error) -> None:
        super().__init__(
            f"item {index} failed ({error.type}): {error.message}",
            index=index,
            item_error=error.model_dump(mode="json"),
        )
        self.index = index
        self.error = error
        timeout = error.type == ErrorType.TIMEOUT
        self.http_status = 504 if timeout else 422
        self.grpc_code = "DEADLINE_EXCEEDED" if timeout else "FAILED_PRECONDITION"


class RewardError(Exception):
    """Raised inside a reward for one item; becomes that item's structured ``Error``."""

    def __init__(self, type: ErrorType | str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.error = Error(type=ErrorType(type), message=message, retryable=retryable)


def error_classes() -> list[type[RewardGymError]]:
    """Every class of the tree, base first (the table the docstring draws)."""
    found: list[type[RewardGymError]] = []
    todo: list[type[RewardGymError]] = [RewardGymError]
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _by(attr: str) -> dict[Any, type[RewardGymError]]:
    """The most general class for each value of ``attr`` (the first in the tree wins)."""
    table: dict[Any, type[RewardGymError]] = {}
    for cls in error_classes():
        if cls is ItemFailedError:
            continue  # its status depends on the item
        table.setdefault(getattr(cls, attr), cls)
    return table


_BY_CODE = _by("code")
_BY_HTTP = _by("http_status")
_BY_GRPC = _by("grpc_code")
_BY_CODE["internal"] = _BY_HTTP[500] = _BY_GRPC["INTERNAL"] = ServerError  # decoded: the server's


def error_from_wire(
    body: Any,
    *,
    http_status: int | None = None,
    grpc_code: str | None = None,
    where: str = "",
    **extra: Any,
) -> RewardGymError:
    """The error a client raises for a server's error object (HTTP's body ``error``, gRPC's
    ``rewardgym-error-bin`` trailer): its ``code`` picks the class, else the HTTP status or
    gRPC code does. One decoder for both clients, so an item's failure keeps its type, index
    and retryable flag whichever front sent it."""
    if not isinstance(body, dict):
        body = {}
    code = body.get("code")
    where = where or (f"HTTP {http_status}" if http_status else f"gRPC {grpc_code}")
    message = str(body.get("message") or where)
    if code == ItemFailedError.code:  # never a fault to retry, whatever else it lacks
        raw = body.get("item_error")
        try:
            error = Error.model_validate(raw)
        except ValueError:
            error = Error(type=ErrorType.INTERNAL, message=message)
        index = body.get("index", -1)
        return ItemFailedError(index if isinstance(index, int) else -1, error)
    detail = {k: v for k, v in body.items() if k not in ("code", "message", "retryable")}
    cls = _BY_CODE.get(str(code)) if code is not None else None
    if cls is None and http_status is not None:
        cls = _BY_HTTP.get(http_status)
    if cls is None and grpc_code is not None:
        cls = _BY_GRPC.get(grpc_code)
    return (cls or ServerError)(f"{message} ({where})", **extra, **detail)
