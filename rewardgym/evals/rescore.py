"""Re-scoring stored rollouts: what a changed reward would have said, and whether a reward
says the same thing twice.

``compare_scores`` turns (old, new) score pairs into a ``RescoreReport``: agreement on
pass/fail, flips each way, score deltas, per data source. ``read_rollouts`` reads them from
a ledger (SQLite path, ``redis://``, ``postgresql://``) or from a JSONL file.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rewardgym.errors import InvalidRequestError
from rewardgym.ledger import Ledger, open_records
from rewardgym.schema import Item, LedgerEntry, Result

__all__ = [
    "Comparison",
    "RescoreReport",
    "Rollout",
    "compare_scores",
    "is_ledger",
    "read_rollouts",
]

CHANGED = 1e-9
"""Two scores further apart than this differ."""

MAX_CHANGES = 200
"""Changed items listed in a report at most."""


@dataclass(frozen=True)
class Rollout:
    """A stored item, its stored result, and (from a ledger) the entry it came from."""

    item: Item
    old: Result
    entry: LedgerEntry | None = None

    @property
    def source(self) -> str:
        return str(self.item.metadata.get("data_source", "*"))


@dataclass
class Comparison:
    """Old against new scores over some rollouts (one data source, or all)."""

    items: int = 0
    compared: int = 0
    """Both scored."""
    agreement: float | None = None
    """Share of compared items on the same side of the threshold."""
    pass_to_fail: int = 0
    fail_to_pass: int = 0
    changed: int = 0
    """Compared items whose score moved at all."""
    newly_failed: int = 0
    """Scored before, an error now."""
    newly_scored: int = 0
    """An error before, scored now."""
    mean_delta: float | None = None
    mean_abs_delta: float | None = None
    max_abs_delta: float | None = None


@dataclass
class RescoreReport:
    """The whole comparison, and one per data source."""

    threshold: float
    overall: Comparison
    by_source: dict[str, Comparison] = field(default_factory=dict)
    pairs: list[tuple[float, float]] = field(default_factory=list)
    """The compared (old, new) scores, for plots."""
    changes: list[dict[str, Any]] = field(default_factory=list)
    """The first ``MAX_CHANGES`` items whose score or error changed, with both."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("pairs")
        return out


def _compare(pairs: Sequence[tuple[float | None, float | None]], threshold: float) -> Comparison:
    c = Comparison(items=len(pairs))
    deltas: list[float] = []
    agree = 0
    for old, new in pairs:
        if old is None or new is None:
            c.newly_failed += old is not None
            c.newly_scored += new is not None
            continue
        c.compared += 1
        delta = new - old
        deltas.append(delta)
        c.changed += abs(delta) > CHANGED
        was, now = old >= threshold, new >= threshold
        agree += was == now
        c.pass_to_fail += was and not now
        c.fail_to_pass += now and not was
    if deltas:
        c.agreement = agree / c.compared
        c.mean_delta = statistics.fmean(deltas)
        c.mean_abs_delta = statistics.fmean(abs(d) for d in deltas)
        c.max_abs_delta = max(abs(d) for d in deltas)
    return c


def compare_scores(
    rollouts: Sequence[Rollout], new: Sequence[Result], threshold: float = 0.5
) -> RescoreReport:
    """Each rollout's stored score against its new one (``new[i]`` for ``rollouts[i]``)."""
    pairs = [(r.old.score, n.score) for r, n in zip(rollouts, new, strict=True)]
    sources: dict[str, list[tuple[float | None, float | None]]] = {}
    for rollout, pair in zip(rollouts, pairs, strict=True):
        sources.setdefault(rollout.source, []).append(pair)
    changes: list[dict[str, Any]] = []
    for i, (rollout, result) in enumerate(zip(rollouts, new, strict=True)):
        old = rollout.old
        if len(changes) >= MAX_CHANGES:
            break
        moved = old.score is not None and result.score is not None
        if moved and abs(result.score - old.score) <= CHANGED:  # type: ignore[operator]
            continue
        if not moved and (old.score is None) == (result.score is None):
            continue  # failed both times
        changes.append(
            {
                "index": i,
                "address": rollout.entry.address if rollout.entry else None,
                "source": rollout.source,
                "old_score": old.score,
                "new_score": result.score,
                "new_error": None if result.error is None else result.error.message,
            }
        )
    return RescoreReport(
        changes=changes,
        threshold=threshold,
        overall=_compare(pairs, threshold),
        by_source={s: _compare(p, threshold) for s, p in sorted(sources.items())}
        if len(sources) > 1 or "*" not in sources
        else {},
        pairs=[(o, n) for o, n in pairs if o is not None and n is not None],
    )


def is_ledger(location: str) -> bool:
    """A ledger URL or SQLite file, rather than a JSONL file."""
    if location.startswith(("redis://", "rediss://", "unix://", "postgresql://", "postgres://")):
        return True
    return Path(location).suffix not in (".jsonl", ".json", ".ndjson")


async def read_rollouts(
    location: str, *, limit: int = 10_000, reward: str | None = None
) -> list[Rollout]:
    """The newest ``limit`` rollouts of a ledger (those of ``reward`` only, when given), or
    every line of a JSONL file: an item with its old ``score`` (the ``rewardgym score``
    output joined to its input), or ``{"item": ..., "result": ...}`` (a ledger entry)."""
    if is_ledger(location):
        if not location.startswith(("redis", "unix", "postgres")) and not Path(location).exists():
            raise InvalidRequestError(f"no ledger at {location}")
        try:
            ledger = Ledger(open_records(location))
            try:
                entries = await ledger.newest(limit if reward is None else limit * 10)
            finally:
                await ledger.aclose()
        except InvalidRequestError:
            raise
        except Exception as exc:  # not a ledger, damaged, unreachable
            raise InvalidRequestError(f"cannot read the ledger at {location}: {exc}") from exc
        return [
            Rollout(e.item, e.result, e)
            for e in entries
            if isinstance(e.item, Item) and (reward is None or e.reward == reward)
        ][:limit]
    return list(_jsonl_rollouts(Path(location)))[:limit]


def _jsonl_rollouts(path: Path) -> Iterable[Rollout]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(f"cannot read {path} as UTF-8 text: {exc}") from exc
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "item" in row and "result" in row:
                yield Rollout(
                    Item.model_validate(row["item"]), Result.model_validate(row["result"])
                )
                continue
            old = row.pop("score", None)
            if old is not None and not (isinstance(old, int | float) and math.isfinite(old)):
                raise ValueError(f"score {old!r} is not a finite number")
            fields = {k: v for k, v in row.items() if k in Item.model_fields}
            yield Rollout(Item.model_validate(fields), Result(score=old))
        except (ValueError, TypeError) as exc:
            raise InvalidRequestError(f"{path}:{n}: not a rollout ({exc})") from exc
