"""The judge requests built lately, kept so a repeat is not rendered again: one store for
the whole process, bounded in bytes (judged texts can be large, and every inline judge
would otherwise keep its own)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from rewardgym.judges.backends.base import ChatRequest

__all__ = ["KEPT_BYTES", "LARGEST_KEPT", "KeptRequests", "kept_requests", "text_size"]

KEPT_BYTES = 64 * 1024 * 1024
"""Bytes of judged text the store keeps (each kept request holds about twice its texts)."""
LARGEST_KEPT = 256 * 1024
"""A request built from more text than this is not kept (it is rendered each time)."""


def text_size(value: Any) -> int:
    """Characters of text in a key made of strings, tuples and None."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, tuple):
        return sum(text_size(v) for v in value)
    return 8


class KeptRequests:
    """Requests by key, newest last, within ``KEPT_BYTES`` of text."""

    def __init__(self) -> None:
        self._requests: OrderedDict[Hashable, tuple[ChatRequest, int]] = OrderedDict()
        self.bytes = 0

    def get(self, key: Hashable) -> ChatRequest | None:
        kept = self._requests.get(key)
        if kept is None:
            return None
        self._requests.move_to_end(key)
        return kept[0]

    def put(self, key: Hashable, request: ChatRequest, size: int) -> None:
        if size > LARGEST_KEPT or key in self._requests:
            return
        self._requests[key] = (request, size)
        self.bytes += size
        while self.bytes > KEPT_BYTES and self._requests:
            _, (_, dropped) = self._requests.popitem(last=False)
            self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._requests)

    def clear(self) -> None:
        self._requests.clear()
        self.bytes = 0


kept_requests = KeptRequests()
