"""One exception tree for rewardgym, with one mapping to HTTP status and gRPC code."""

from __future__ import annotations

from typing import Any

from rewardgym.schema import Error, ErrorType

__all__ = [
    "ConfigError",
    "ForbiddenError",
    "InvalidRequestError",
    "ItemFailedError",
    "NotImplementedYetError",
    "OverloadedError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "RewardError",
    "RewardGymError",
    "UnauthorizedError",
    "UnknownRewardError",
    "UnsupportedOperationError",
    "error_from_body",
]


class RewardGymError(Exception):
    """Base of every error rewardgym raises on purpose.

    ``http_status`` and ``grpc_code`` (a ``grpc.StatusCode`` name) say how both fronts report it.
    """

    http_status = 500
    grpc_code = "INTERNAL"
    code = "internal"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        """The JSON body both fronts send for this error."""
        return {"error": {"code": self.code, "message": self.message, **self.detail}}


class UnknownRewardError(RewardGymError):
    """A reward name (or type) that is not registered."""

    http_status = 404
    grpc_code = "NOT_FOUND"
    code = "unknown_reward"


class InvalidRequestError(RewardGymError):
    """A request whose content is wrong (bad params, bad field)."""

    http_status = 422
    grpc_code = "INVALID_ARGUMENT"
    code = "invalid_request"


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


class RateLimitedError(RewardGymError):
    """An API key over its rate; retry after ``retry_after_s``."""

    http_status = 429
    grpc_code = "RESOURCE_EXHAUSTED"
    code = "rate_limited"


class PayloadTooLargeError(RewardGymError):
    """A body or a batch over the configured limit."""

    http_status = 413
    grpc_code = "RESOURCE_EXHAUSTED"
    code = "payload_too_large"


class OverloadedError(RewardGymError):
    """The server cannot take more work now; try again later."""

    http_status = 503
    grpc_code = "UNAVAILABLE"
    code = "overloaded"


class NotImplementedYetError(RewardGymError):
    """An operation this server does not offer (for example compare with a scalar reward)."""

    http_status = 501
    grpc_code = "UNIMPLEMENTED"
    code = "not_implemented"


class UnsupportedOperationError(NotImplementedYetError):
    """A request this reward cannot serve (compare with a scalar reward): the caller's
    choice of reward is wrong, so HTTP says 422; gRPC says UNIMPLEMENTED."""

    http_status = 422
    code = "unsupported_operation"


class ConfigError(InvalidRequestError):
    """A reward spec that cannot be built (bad params, bad pattern, missing dependency)."""

    code = "config_error"


class ItemFailedError(RewardGymError):
    """An item failed under ``on_error: raise``; the request fails as a whole."""

    code = "item_failed"

    def __init__(self, index: int, error: Error) -> None:
        super().__init__(
            f"item {index} failed ({error.type}): {error.message}",
            index=index,
            item_error=error.model_dump(mode="json"),
        )
        timeout = error.type == ErrorType.TIMEOUT
        self.http_status = 504 if timeout else 422
        self.grpc_code = "DEADLINE_EXCEEDED" if timeout else "FAILED_PRECONDITION"


class RewardError(Exception):
    """Raised inside a reward for one item; becomes that item's structured ``Error``."""

    def __init__(self, type: ErrorType | str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.error = Error(type=ErrorType(type), message=message, retryable=retryable)


def error_from_body(
    body: Any, fallback: type[RewardGymError], where: str, **extra: Any
) -> RewardGymError:
    """The error a client raises for the server's error object ``{"code", "message", ...}``
    (HTTP's body, gRPC's ``rewardgym-error-bin`` trailer): one decoder for both clients, so an
    item's error keeps its type, index and retryable flag whichever front sent it."""
    if not isinstance(body, dict):
        body = {}
    code = body.get("code")
    message = str(body.get("message") or where)
    if code == ItemFailedError.code and isinstance(body.get("item_error"), dict):
        return ItemFailedError(int(body.get("index", -1)), Error.model_validate(body["item_error"]))
    detail = {k: v for k, v in body.items() if k not in ("code", "message")}
    cls = _BY_CODE.get(str(code), fallback)
    return cls(f"{message} ({where})", **extra, **detail)


_BY_CODE: dict[str, type[RewardGymError]] = {
    c.code: c
    for c in (
        UnknownRewardError,
        InvalidRequestError,
        UnauthorizedError,
        ForbiddenError,
        RateLimitedError,
        PayloadTooLargeError,
        OverloadedError,
        NotImplementedYetError,
        UnsupportedOperationError,
        ConfigError,
    )
}
