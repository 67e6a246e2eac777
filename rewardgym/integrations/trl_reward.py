"""A TRL reward function backed by a rewardgym reward (on a server, or in process).

``RewardFunction("math", url="http://127.0.0.1:8000")`` is what ``GRPOTrainer(reward_funcs=...)``
takes: called with ``prompts``, ``completions`` and the dataset's columns, it scores the batch
with one call, reads the reference from a column (``answer``, ``solution``, ``ground_truth`` or
``reference``, or the one named), returns one float
per completion, and ``None`` for a failed item (TRL's "not applicable": it becomes NaN and is
left out of the mean) unless ``on_error`` says otherwise. Components, the error rate and the
error types go to TRL's ``log_metric``/``log_extra`` hooks when the trainer passes them. It
holds no client or loop, so it pickles (TRL's asynchronous trainer runs reward functions in
another process).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewardgym.on_error import as_policy, value_of
from rewardgym.schema import Item, Message, Result, RewardSpec
from rewardgym.scoring import LocalScorer, RemoteScorer, Scorer

__all__ = ["REFERENCE_COLUMNS", "RewardFunction"]

REFERENCE_COLUMNS = ("answer", "solution", "ground_truth", "reference")
"""Where the trainers' datasets keep the gold answer, in the order they are looked for."""


def _text_or_messages(value: Any) -> str | list[Message]:
    if isinstance(value, str):
        return value
    return [Message.model_validate(m) for m in value]


class RewardFunction:
    """A picklable TRL reward function.

    Args:
        reward: a reward name on the server / in the config, or an inline spec.
        url: the reward server; None scores in process.
        reference_column: the dataset column holding the reference; by default the first
            of ``answer``, ``solution``, ``ground_truth``, ``reference`` the batch has. A
            named column the batch lacks is an error (never silently no reference).
        metadata_columns: dataset columns passed on as item metadata.
        on_error: what a failed item gives (``rewardgym.on_error``): None (TRL leaves it out),
            a number, or ``"raise"`` (the batch fails with ``ItemFailedError``).
        timeout_s: the most one scoring call may take.
        retry_budget_s: connection errors and 429/5xx are retried, with jittered backoff, for
            up to this many seconds (a server restart does not end the run).
        api_key: the server's key; default ``$REWARDGYM_API_KEY``.
    """

    def __init__(
        self,
        reward: str | RewardSpec | dict[str, Any],
        url: str | None = None,
        *,
        reference_column: str | None = None,
        metadata_columns: Sequence[str] = (),
        on_error: float | str | None = None,
        timeout_s: float = 300.0,
        config: str | None = None,
        retry_budget_s: float = 300.0,
        api_key: str | None = None,
    ) -> None:
        self.reward = reward
        self.url = url
        self.reference_column = reference_column
        self.retry_budget_s = retry_budget_s
        self.api_key = api_key
        self.metadata_columns = tuple(metadata_columns)
        self.on_error = as_policy(on_error)
        self.timeout_s = timeout_s
        self.config = config
        name = reward if isinstance(reward, str) else RewardSpec.model_validate(reward).type
        self.__name__ = f"rewardgym_{name}"  # TRL names the reward's metrics after this
        self._scorer: Scorer | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_scorer": None}

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            self._scorer = (
                RemoteScorer(self.url, self.timeout_s, self.retry_budget_s, self.api_key)
                if self.url
                else LocalScorer(self.config, self.timeout_s)
            )
        return self._scorer

    def items(
        self, prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[Item]:
        """The items a batch becomes."""
        references = self.references(columns, len(completions))
        items = []
        for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
            metadata = {c: columns[c][i] for c in self.metadata_columns if c in columns}
            items.append(
                Item(
                    prompt=_text_or_messages(prompt),
                    response=_text_or_messages(completion),
                    reference=references[i],
                    metadata=metadata,
                )
            )
        return items

    def references(self, columns: dict[str, Any], n: int) -> list[Any]:
        """The batch's references: the named column, else the first of ``REFERENCE_COLUMNS``
        present, else none."""
        if self.reference_column is not None:
            if self.reference_column not in columns:
                present = sorted(k for k in columns if not k.startswith("log_"))
                raise KeyError(
                    f"reference_column {self.reference_column!r} is not a column of this "
                    f"batch; it has {present}"
                )
            return list(columns[self.reference_column])
        for name in REFERENCE_COLUMNS:
            if columns.get(name) is not None:
                return list(columns[name])
        return [None] * n

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        results = self.scorer.score(self.reward, self.items(prompts, completions, **kwargs))
        self._log(results, kwargs.get("log_metric"), kwargs.get("log_extra"))
        return [value_of(r, self.on_error, index=i) for i, r in enumerate(results)]

    def _log(self, results: list[Result], log_metric: Any, log_extra: Any) -> None:
        if not results:
            return
        if log_metric is not None:
            errors = sum(r.error is not None for r in results)
            log_metric(f"{self.__name__}/error_rate", errors / len(results))
            names = {k for r in results for k in r.scores}
            for name in sorted(names):
                values = [v for r in results if (v := r.scores.get(name)) is not None]
                if values:
                    log_metric(f"{self.__name__}/{name}", sum(values) / len(values))
        if log_extra is not None:
            log_extra(f"{self.__name__}_error", [r.error.type if r.error else "" for r in results])
