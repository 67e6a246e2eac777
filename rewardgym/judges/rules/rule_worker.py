"""What runs inside a rule worker process: a rule reward's ``compute`` over a large batch.

Batches too large to score on the event loop run here, in a killable pool: past the request's
deadline the worker is killed and replaced, so no rule work outlives its request. Rewards are
built once per worker from their type and params.
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

from rewardgym.judges.catalog import load_type
from rewardgym.judges.sync_rule import SyncRule, result_to_tuple
from rewardgym.schema import Item, Result, RewardSpec

__all__ = ["compute_batch"]

_BUILT: dict[str, SyncRule] = {}

# Rule work is batch work: it yields the CPU to the server's event loop and to judges.
os.nice(10)


def _rule(type_id: str, params: dict[str, Any]) -> SyncRule:
    key = json.dumps([type_id, params], sort_keys=True)
    rule = _BUILT.get(key)
    if rule is None:
        cls = load_type(type_id)
        rule = cast(SyncRule, cls(RewardSpec(type=type_id, params=params)))
        if len(_BUILT) > 64:
            _BUILT.clear()
        _BUILT[key] = rule
    return rule


def compute_batch(
    type_id: str, params: dict[str, Any], items: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The results of ``type_id(params)`` on the items (tuples of an Item's fields, validated
    by the server already), as ``result_to_tuple`` data."""
    rule = _rule(type_id, params)
    fields = ("prompt", "response", "reference", "steps", "metadata")
    batch = [Item.model_validate(dict(zip(fields, item, strict=True))) for item in items]
    results: list[Result] = rule.compute_all(batch)
    return [result_to_tuple(r) for r in results]
