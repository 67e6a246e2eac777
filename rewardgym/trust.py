"""Who may set what: operators (config, CLI, environment) are trusted; API callers are not.

A caller may name configured rewards and send inline specs, but an inline spec may set only the
parameters that cannot touch the host. Each reward's ``Params`` declares the rest:
``OPERATOR_ONLY`` (sandbox mode, pool sizes, templates, backends, model paths and devices),
``AT_MOST_DEFAULT`` (limits a caller may lower but not raise: time, memory, tokens) and
``NAMED_ONLY`` (a caller may name one the config defines, as ``backend: judge``, but not
describe a new one). An inline spec that sets one gets ``ForbiddenError`` (HTTP 403, gRPC
PERMISSION_DENIED) naming the parameter. Operators widen this per key
(``REWARDGYM_TRUSTED_API_KEYS``) or for everyone (``REWARDGYM_INLINE_SPECS=any``), or turn
inline specs off (``off``). The size of an inline spec is bounded before anything is built.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from rewardgym.errors import ConfigError, ForbiddenError, InvalidRequestError
from rewardgym.jsonwalk import iter_json
from rewardgym.schema import RewardSpec

__all__ = [
    "OPERATOR",
    "Caller",
    "InlineLimits",
    "InlinePolicy",
    "check_inline",
    "key_digest",
    "key_id",
    "spec_shape",
    "split_keys",
]

InlineMode = Literal["off", "safe", "any"]

_ALLOW_HINT = (
    "an operator can set it in the reward config (and callers then name that reward), or mark "
    "this API key trusted (REWARDGYM_TRUSTED_API_KEYS)"
)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: ``trusted`` callers may set every parameter inline."""

    trusted: bool
    key_id: str | None = None


OPERATOR = Caller(trusted=True)
"""In-process use (Python API, CLI, trainers): the operator's own code."""


def key_digest(key: str) -> bytes:
    """The SHA-256 of an API key: what a server keeps and compares, never the key."""
    return hashlib.sha256(key.encode()).digest()


def key_id(key: str) -> str:
    """A key's public id (in logs, metrics and ``Caller.key_id``): 8 hex digits of its digest."""
    return key_digest(key).hex()[:8]


def split_keys(keys: str | None) -> list[str]:
    """The keys of a comma-separated setting."""
    return [k.strip() for k in (keys or "").split(",") if k.strip()]


@dataclass(frozen=True)
class InlineLimits:
    """Bounds on an inline spec, checked before anything is built."""

    max_nesting: int = 8
    max_json_depth: int = 64
    max_json_nodes: int = 20_000
    max_params_chars: int = 256 * 1024
    max_formula_chars: int = 2_000


@dataclass(frozen=True)
class InlinePolicy:
    """What callers may send inline: ``mode`` (off, safe, any) and the size bounds."""

    mode: InlineMode = "safe"
    limits: InlineLimits = InlineLimits()


def spec_shape(value: Any) -> tuple[int, int, int]:
    """(depth, values, characters of text) of a JSON-like value, computed without recursion
    (values may be deep)."""
    depth, nodes, chars = 0, 0, 0
    for current, level in iter_json(value):
        nodes += 1
        depth = max(depth, level)
        if isinstance(current, str):
            chars += len(current)
        elif isinstance(current, dict):
            chars += sum(len(k) for k in current if isinstance(k, str))
    return depth, nodes, chars


def check_inline(spec: RewardSpec, caller: Caller, policy: InlinePolicy) -> None:
    """Refuse an inline spec the caller may not send: ``InvalidRequestError`` (422) when it is
    too large or deep, ``ForbiddenError`` (403) when it sets a parameter only an operator may
    set, or when inline specs are off. Returns when the spec may be built."""
    if policy.mode == "off" and not caller.trusted:
        raise ForbiddenError(
            "inline reward specs are turned off on this server; name a configured reward "
            "(GET /v1/rewards lists them)",
            setting="REWARDGYM_INLINE_SPECS",
        )
    limits = policy.limits
    depth, nodes, chars = spec_shape(spec.params)
    if chars > limits.max_params_chars:
        raise InvalidRequestError(
            f"the inline spec's params hold {chars} characters of text; at most "
            f"{limits.max_params_chars} are allowed (REWARDGYM_INLINE_MAX_PARAMS_CHARS); a "
            "large fixed reference belongs in the items or in the server's config",
            max_params_chars=limits.max_params_chars,
        )
    if depth > limits.max_json_depth or nodes > limits.max_json_nodes:
        raise InvalidRequestError(
            f"the inline spec's params nest {depth} deep with {nodes} values; at most "
            f"{limits.max_json_depth} deep and {limits.max_json_nodes} values are allowed "
            "(REWARDGYM_INLINE_MAX_JSON_DEPTH, REWARDGYM_INLINE_MAX_JSON_NODES)",
            max_json_depth=limits.max_json_depth,
            max_json_nodes=limits.max_json_nodes,
        )
    trusted = caller.trusted or policy.mode == "any"
    for path, nested, level in _specs(spec, "reward", 1):
        if level > limits.max_nesting:
            raise InvalidRequestError(
                f"inline specs nest {level} deep at {path}; at most {limits.max_nesting} are "
                "allowed (REWARDGYM_INLINE_MAX_NESTING)",
                max_nesting=limits.max_nesting,
            )
        expression = nested.params.get("expression")
        if isinstance(expression, str) and len(expression) > limits.max_formula_chars:
            raise InvalidRequestError(
                f"{path}.params.expression has {len(expression)} characters; at most "
                f"{limits.max_formula_chars} are allowed (REWARDGYM_INLINE_MAX_FORMULA_CHARS)",
                max_formula_chars=limits.max_formula_chars,
            )
        params = _validated(nested, path)
        if not trusted:
            _check_params(params, f"{path}.params")


def _specs(spec: RewardSpec, path: str, level: int) -> Iterator[tuple[str, RewardSpec, int]]:
    """The spec and every inline spec nested in it, at the slots composites hold specs in:
    ``components[i].reward``, ``gate`` and ``reward`` (iterative: nesting is bounded later)."""
    stack: list[tuple[RewardSpec, str, int]] = [(spec, path, level)]
    while stack:
        current, where, depth = stack.pop()
        yield where, current, depth
        if depth > 64:
            continue  # the caller refuses at its own, lower bound
        params = current.params
        slots: list[tuple[str, Any]] = [
            ("gate", params.get("gate")),
            ("reward", params.get("reward")),
        ]
        components = params.get("components")
        if isinstance(components, list):
            slots += [
                (f"components[{i}].reward", c.get("reward"))
                for i, c in enumerate(components)
                if isinstance(c, dict)
            ]
        for slot, value in slots:
            if isinstance(value, dict):
                try:
                    nested = RewardSpec.model_validate(value)
                except ValidationError:
                    continue  # the composite's own params validation says what is wrong
                stack.append((nested, f"{where}.params.{slot}", depth + 1))


def _validated(spec: RewardSpec, path: str) -> BaseModel:
    from rewardgym.judges.catalog import load_type

    cls = load_type(spec.type)
    try:
        return cls.Params.model_validate(spec.params)
    except ValidationError as exc:
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False)
        ]
        raise ConfigError(
            f"invalid params for {path} (type {spec.type!r})",
            errors=errors[:20],
            allowed=sorted(cls.Params.model_fields),
        ) from exc


def _check_params(params: BaseModel, path: str) -> None:
    """Refuse the first operator-only, raised or undeclared-backend parameter a caller set."""
    cls = type(params)
    operator_only: frozenset[str] = getattr(cls, "OPERATOR_ONLY", frozenset())
    at_most_default: frozenset[str] = getattr(cls, "AT_MOST_DEFAULT", frozenset())
    named_only: frozenset[str] = getattr(cls, "NAMED_ONLY", frozenset())
    for name in sorted(params.model_fields_set):
        value = getattr(params, name)
        default = cls.model_fields[name].get_default(call_default_factory=True)
        where = f"{path}.{name}"
        if name in operator_only and value != default:
            raise ForbiddenError(
                f"{where} may be set only by an operator, not in an inline spec; {_ALLOW_HINT}",
                parameter=where,
            )
        if name in at_most_default and _above(value, default):
            raise ForbiddenError(
                f"{where} = {value!r} is above this server's cap of {default!r} for inline "
                f"specs (callers may lower it, not raise it); {_ALLOW_HINT}",
                parameter=where,
                cap=default,
            )
        if name in named_only and not isinstance(value, str):
            raise ForbiddenError(
                f"{where} must name one the server's config defines (a string such as "
                f"'judge'), not describe a new one; {_ALLOW_HINT}",
                parameter=where,
            )
    for name in sorted(params.model_fields_set):
        value = getattr(params, name)
        for i, inner in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(inner, BaseModel) and not isinstance(inner, RewardSpec):
                suffix = f"[{i}]" if isinstance(value, list) else ""
                _check_params(inner, f"{path}.{name}{suffix}")


def _above(value: Any, cap: Any) -> bool:
    if cap is None:
        return False
    if value is None:
        return True  # None means "no limit"
    return isinstance(value, int | float) and value > cap
