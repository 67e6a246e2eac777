"""API keys (bearer) and per-key rate limits, as pure ASGI middleware.

Keys come from ``REWARDGYM_API_KEYS`` (comma-separated) and/or ``REWARDGYM_API_KEYS_FILE`` (one
per line, ``#`` comments). Only their SHA-256 digests are kept; a presented key is hashed and
compared with every digest in constant time. A key is known in logs and metrics only by its
id (the first 8 hex digits of its digest), never by its text. Without keys, auth is off.
Health endpoints stay open. A key over its rate (a token bucket: ``rate`` requests a second,
``burst`` at once) gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import hmac
import math
import re
import time
import weakref
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardgym.asgi import send_json
from rewardgym.errors import RateLimitedError, RewardGymError, UnauthorizedError
from rewardgym.metrics import REJECTED
from rewardgym.trust import key_digest, split_keys

__all__ = [
    "API_KEY_ID",
    "ApiKeyAuth",
    "ApiKeys",
    "Guard",
    "KeyInPath",
    "Refusal",
    "TokenBuckets",
    "load_keys",
]

API_KEY_ID: ContextVar[str | None] = ContextVar("rewardgym_api_key_id", default=None)
"""The key id of the gRPC call being served (set by the interceptor)."""

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/livez"})


def load_keys(keys: str | None, keys_file: Path | None) -> list[str]:
    """The keys of the settings: the comma-separated list plus the file's lines."""
    found = split_keys(keys)
    if keys_file is not None:
        for line in keys_file.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                found.append(line)
    return found


class ApiKeys:
    """The accepted keys, kept as digests."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [key_digest(k) for k in keys]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def identify(self, presented: str) -> str | None:
        """The key's id when it is accepted, else None (every digest compared)."""
        digest = key_digest(presented)
        match = None
        for known in self._digests:
            if hmac.compare_digest(digest, known):
                match = known
        return match.hex()[:8] if match is not None else None


class TokenBuckets:
    """One token bucket per key id."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key_id: str, now: float | None = None) -> float:
        """0 when a request may go now, else the seconds until it may."""
        now = time.monotonic() if now is None else now
        tokens, last = self._state.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._state[key_id] = (tokens - 1.0, now)
            return 0.0
        self._state[key_id] = (tokens, now)
        return (1.0 - tokens) / self.rate


@dataclass(frozen=True)
class Refusal:
    """Why a call may not go ahead: ``unauthorized`` or ``rate_limited`` (with the wait)."""

    reason: str
    message: str
    retry_after_s: int | None = None

    def error(self) -> RewardGymError:
        """The refusal as the error both fronts send."""
        if self.retry_after_s is None:
            return UnauthorizedError(self.message)
        return RateLimitedError(self.message, retry_after_s=self.retry_after_s)


_GUARDS: weakref.WeakKeyDictionary[Any, Guard] = weakref.WeakKeyDictionary()


class Guard:
    """The keys and per-key buckets of one server, shared by its HTTP and gRPC fronts (so a
    key's rate is one rate, whichever front it calls), and the one decision both make."""

    def __init__(self, keys: ApiKeys, buckets: TokenBuckets | None = None) -> None:
        self.keys = keys
        self.buckets = buckets

    @classmethod
    def for_service(cls, service: Any) -> Guard:
        """The one guard of a service's fronts: its HTTP app and gRPC server share it, so a
        key's rate is one rate whichever front it calls."""
        guard = _GUARDS.get(service)
        if guard is None:
            guard = _GUARDS[service] = cls.from_settings(service.settings)
        return guard

    @classmethod
    def from_settings(cls, settings: Any) -> Guard:
        # Trusted keys are keys too (the service decides what trust allows them).
        trusted = load_keys(getattr(settings, "trusted_api_keys", None), None)
        keys = ApiKeys([*load_keys(settings.api_keys, settings.api_keys_file), *trusted])
        rate = settings.rate_limit
        return cls(keys, TokenBuckets(rate, settings.rate_burst) if rate else None)

    def admit(self, authorization: str, how_to_send: str) -> tuple[str | None, Refusal | None]:
        """(the key's id, None) when the call may go ahead, else (id or None, the refusal).
        ``how_to_send`` tells a caller without a key where it goes (a header, metadata)."""
        if not self.keys:
            return None, None
        scheme, _, token = authorization.partition(" ")
        key_id = self.keys.identify(token.strip()) if scheme.lower() == "bearer" else None
        if key_id is None:
            REJECTED.labels("unauthorized").inc()
            message = (
                f"send an API key as {how_to_send}"
                if not authorization
                else ("the API key is not accepted")
            )
            return None, Refusal("unauthorized", message)
        if self.buckets is not None:
            wait = self.buckets.take(key_id)
            if wait > 0:
                REJECTED.labels("rate_limited").inc()
                message = (
                    f"key {key_id} is over {self.buckets.rate:g} requests/s; retry in {wait:.2f} s"
                )
                return key_id, Refusal("rate_limited", message, max(1, math.ceil(wait)))
        return key_id, None


class ApiKeyAuth:
    """401 without a valid ``Authorization: Bearer KEY``; 429 over the key's rate."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        value = headers.get(b"authorization", b"").decode("latin-1")
        key_id, refusal = self.guard.admit(value, "'Authorization: Bearer KEY'")
        scope.setdefault("state", {})["api_key_id"] = key_id  # a rate-limited key is logged too
        if refusal is not None:
            if refusal.retry_after_s is None:
                extra = [(b"www-authenticate", b"Bearer")]
            else:
                extra = [(b"retry-after", str(refusal.retry_after_s).encode())]
            error = refusal.error()
            await send_json(send, error.http_status, error.to_dict(), extra)
            return
        await self.app(scope, receive, send)


class KeyInPath:
    """For trainers that cannot send a header (OpenRLHF's ``--reward.remote_url``, slime's
    ``--rm-url``): ``/k/KEY/get_reward`` is ``/get_reward`` with ``Authorization: Bearer KEY``.
    Only the compatibility routes take a key this way; the key is cut from the path before
    anything logs it, and any path with a ``k`` segment (any case, doubled slashes, under the
    app's ``root_path``) has the segment after it redacted. Its risk: a URL travels further
    than a header (a trainer's config and its logs, a proxy's access log), so give such a
    trainer a key of its own."""

    ROUTES = frozenset({"/get_reward", "/slime/reward", "/verify"})

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _KEY_SEGMENT.search(scope.get("path", "")):
            self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Any) -> None:
        path: str = scope["path"]
        root = scope.get("root_path", "") or ""
        local = path[len(root) :] if root and path.startswith(root) else path
        match = _KEY_PATH.fullmatch(local)
        route = match.group(2) if match else None
        key = match.group(1) if match else ""
        if match is not None and route in self.ROUTES and key:
            header = b"Bearer " + (key.encode() if _PRINTABLE.fullmatch(key) else b"\x00")
            headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"authorization"]
            scope["headers"] = [*headers, (b"authorization", header)]
            scope["path"] = (root if local is not path else "") + route
        else:  # never log or echo a key sent to a route that does not take one
            scope["path"] = _KEY_SEGMENT.sub(r"\1/redacted", path)
        scope["raw_path"] = scope["path"].encode()


_KEY_SEGMENT = re.compile(r"(/[kK])/+[^/]*")  # linear: starts only where "/k" is
_KEY_PATH = re.compile(r"/+[kK]/+([^/]*)(/.*)?")
_PRINTABLE = re.compile(r"[\x21-\x7e]{1,4096}")  # what a key may hold; else it matches none
