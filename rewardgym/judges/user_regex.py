"""Regular expressions from callers and responses, in a linear-time engine (RE2).

User patterns (reward params, references) and the fixed patterns that read responses all go
through RE2: matching takes time linear in the text, whatever the pattern, so no pattern and no
text can stall a worker; each compiled pattern may use at most ``max_mem_bytes``; compiled
patterns are kept in a cache bounded by their estimated size in bytes, not by their count.
Back-references and look-around (which need backtracking) are refused with a clear error.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import re2

from rewardgym.errors import ConfigError

__all__ = [
    "RegexLimits",
    "cache_size",
    "compile_pattern",
    "configure_regex",
    "regex_limits",
    "search",
    "split",
]


@dataclass(frozen=True)
class RegexLimits:
    """Bounds for user patterns (the service sets them from its settings)."""

    max_pattern_chars: int = 2_000
    max_mem_bytes: int = 2 * 1024 * 1024
    cache_bytes: int = 64 * 1024 * 1024


_limits = RegexLimits()
_cache: OrderedDict[tuple[str, bool], tuple[Any, int]] = OrderedDict()
_cache_size = 0
_lock = threading.Lock()


def configure_regex(limits: RegexLimits) -> None:
    """Set the bounds (and drop the cache, which was sized for the old ones)."""
    global _limits, _cache_size
    with _lock:
        _limits = limits
        _cache.clear()
        _cache_size = 0


def regex_limits() -> RegexLimits:
    """The bounds in force."""
    return _limits


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _limits.max_mem_bytes
    return options


def _cost(pattern: str, compiled: Any) -> int:
    # RE2 builds its DFA lazily as texts are searched, up to max_mem per pattern, and keeps it:
    # a small program can hold megabytes after one long search. Count the worst case.
    return len(pattern) + 64 * int(compiled.programsize) + _limits.max_mem_bytes


def compile_pattern(pattern: str, *, dotall: bool = False) -> Any:
    """A compiled RE2 pattern (cached). A bad, unsupported or oversized pattern is a
    ``ConfigError`` that names it and says what RE2 allows."""
    global _cache_size
    key = (pattern, dotall)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit[0]
    limit = _limits.max_pattern_chars
    if len(pattern) > limit:
        raise ConfigError(
            f"regular expression of {len(pattern)} characters; at most {limit} are allowed",
            max_pattern_chars=limit,
        )
    try:
        compiled = re2.compile(f"(?s){pattern}" if dotall else pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ConfigError(
            f"invalid regular expression {pattern[:200]!r}: {reason} (patterns use RE2 syntax: "
            "no back-references or look-around; repetition counts up to 1000; compiled size "
            f"up to {_limits.max_mem_bytes} bytes)"
        ) from exc
    cost = _cost(pattern, compiled)
    with _lock:
        if key not in _cache and cost <= _limits.cache_bytes:
            _cache[key] = (compiled, cost)
            _cache_size += cost
            while _cache_size > _limits.cache_bytes:
                _, (_, old) = _cache.popitem(last=False)
                _cache_size -= old
    return compiled


def search(pattern: Any, text: str) -> Any:
    """``pattern.search(text)`` (linear time in RE2)."""
    return pattern.search(text)


def split(pattern: Any, text: str) -> list[str]:
    """``text`` split on ``pattern`` (its groups' text is kept, as ``re.split`` does)."""
    return list(pattern.split(text))


def cache_size() -> tuple[int, int]:
    """(patterns cached, their estimated bytes): for tests and metrics."""
    with _lock:
        return len(_cache), _cache_size
