"""Content addresses: what a result is a function of, hashed.

A result's address is the SHA-256 of its reward's *implementation* (type, version, params,
the libraries it scores with; for judges also the backend's model and servers, the
templates' hash and the sampling settings) and of the *item* (prompt, response, reference,
steps, metadata; ``metadata.data_source`` is left out: it labels an item, no reward reads
it). Two results with one address should be equal; ``rewardgym replay`` checks that.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

__all__ = ["ADDRESS_VERSION", "address", "canonical", "implementation_digest", "item_content"]

ADDRESS_VERSION = b"rewardgym-ledger/1"
"""Changes only if the way addresses are made changes."""

UNREAD_METADATA = frozenset({"data_source"})
"""Metadata keys that label an item and that no reward reads."""


def canonical(value: Any) -> bytes:
    """JSON with sorted keys and no spaces: equal values, equal bytes; unequal values,
    unequal bytes (NaN and the infinities kept as such, integers of any size)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def item_content(item: BaseModel) -> dict[str, Any]:
    """The item as its reward reads it (an ``Item`` or a ``CompareItem``), in Python values
    (JSON mode would write NaN as null: another item's content)."""
    content = item.model_dump()
    metadata = content.get("metadata") or {}
    content["metadata"] = {k: v for k, v in metadata.items() if k not in UNREAD_METADATA}
    return content


def implementation_digest(implementation: dict[str, Any]) -> bytes:
    """The digest of a reward's ``implementation()``."""
    return hashlib.sha256(canonical(implementation)).digest()


def address(digest: bytes, item: BaseModel) -> str:
    """The content address (64 hex digits) of ``item`` scored by the reward of ``digest``."""
    hasher = hashlib.sha256(ADDRESS_VERSION)
    hasher.update(digest)
    hasher.update(canonical(item_content(item)))
    return hasher.hexdigest()
