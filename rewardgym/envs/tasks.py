"""Task sources for environments: in-memory rows, JSONL files, MT-Bench question files and
reasoning-gym's procedural generators.

A task is a plain row: ``prompt`` (text or chat messages), ``reference``, ``metadata``, and for
dialogues ``turns`` (the scripted user turns). Sources are indexable, so the same index (or
the same seed) always gives the same task, and a row passed to ``reset(options={"task": row})``
needs no source at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rewardgym.schema import Item, Message

__all__ = [
    "JsonlSource",
    "ListSource",
    "MTBenchSource",
    "ReasoningGymSource",
    "Task",
    "TaskSource",
    "as_source",
]


@dataclass(frozen=True)
class Task:
    """One task. ``prompt`` is the first user message (text) or a list of chat messages."""

    prompt: str | list[dict[str, str]]
    reference: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    turns: list[str] | None = None
    id: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Task:
        """A task from a row: ``prompt`` (or ``question``/``input``), ``reference`` (or
        ``answer``), ``metadata``; anything else joins the metadata."""
        known = {"prompt", "question", "input", "reference", "answer", "metadata", "turns", "id"}
        prompt = row.get("prompt", row.get("question", row.get("input")))
        turns = row.get("turns")
        if prompt is None and turns:
            prompt = turns[0]
        if prompt is None:
            raise ValueError(f"a task needs a prompt; this row has keys {sorted(row)}")
        metadata = dict(row.get("metadata") or {})
        metadata.update({k: v for k, v in row.items() if k not in known})
        reference = row.get("reference", row.get("answer"))
        task_id = row.get("id")
        return cls(
            prompt=prompt,
            reference=reference,
            metadata=metadata,
            turns=list(turns) if turns else None,
            id=str(task_id) if task_id is not None else None,
        )

    def item_prompt(self) -> str | list[Message]:
        """The prompt as an Item takes it."""
        if isinstance(self.prompt, str):
            return self.prompt
        return [Message.model_validate(m) for m in self.prompt]

    def answer_item(self, response: str) -> Item:
        """The item a reward scores for ``response`` as the answer to this task."""
        return Item(
            prompt=self.item_prompt(),
            response=response,
            reference=self.reference,
            metadata=self.metadata,
        )

    def as_row(self) -> dict[str, Any]:
        """The task as a JSON-ready row (what ``reset`` puts in ``info``)."""
        row: dict[str, Any] = {"prompt": self.prompt, "reference": self.reference}
        row["metadata"] = self.metadata
        if self.turns is not None:
            row["turns"] = self.turns
        if self.id is not None:
            row["id"] = self.id
        return row


class TaskSource(Protocol):
    """Indexable tasks: ``len(source)`` and ``source[i]``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Task: ...


class ListSource:
    """Tasks from rows in memory."""

    def __init__(self, rows: Iterable[Mapping[str, Any] | Task]) -> None:
        self.tasks = [r if isinstance(r, Task) else Task.from_row(r) for r in rows]
        if not self.tasks:
            raise ValueError("a task source needs at least one task")

    def __len__(self) -> int:
        return len(self.tasks)

    def __getitem__(self, index: int) -> Task:
        return self.tasks[index]


class JsonlSource(ListSource):
    """Tasks from a JSONL file: one row per line (``prompt``, ``reference``, ``metadata``)."""

    def __init__(self, path: str | Path) -> None:
        rows = []
        with Path(path).open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{path}:{number}: not JSON: {exc}") from exc
        super().__init__(rows)


class MTBenchSource(ListSource):
    """MT-Bench question files (``question_id``, ``category``, ``turns``), with reference
    answers joined from an optional reference-answer file (FastChat's layout)."""

    def __init__(self, questions: str | Path, references: str | Path | None = None) -> None:
        answers: dict[Any, list[str]] = {}
        if references is not None:
            for line in Path(references).read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    answers[row["question_id"]] = row["choices"][0]["turns"]
        rows = []
        for line in Path(questions).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            reference = answers.get(q["question_id"]) or q.get("reference")
            rows.append(
                {
                    "id": q["question_id"],
                    "prompt": q["turns"][0],
                    "turns": q["turns"],
                    "reference": reference,
                    "metadata": {"category": q.get("category")},
                }
            )
        super().__init__(rows)


class ReasoningGymSource:
    """A reasoning-gym task family by name, generated offline and reproducibly.

    Each task's metadata carries ``reasoning_gym: {dataset, entry}`` so the ``reasoning_gym``
    reward can run the family's own answer checker, in process or on a server.
    """

    def __init__(self, task: str, size: int = 1000, seed: int = 0, **config: Any) -> None:
        try:
            import reasoning_gym
        except ImportError as exc:
            raise ImportError(
                "reasoning-gym tasks (the environments' default tasks) need reasoning-gym: "
                "pip install 'rewardgym[reasoning]', or pass your own tasks"
            ) from exc

        self.task = task
        try:
            self.dataset = reasoning_gym.create_dataset(task, size=size, seed=seed, **config)
        except (KeyError, ValueError) as exc:
            known = sorted(reasoning_gym.factory.DATASETS)
            raise ValueError(f"unknown reasoning-gym task {task!r}; known: {known}") from exc
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Task:
        entry = _plain(self.dataset[index])
        return Task(
            prompt=entry["question"],
            reference=entry["answer"],
            metadata={"reasoning_gym": {"dataset": self.task, "entry": entry}},
            id=f"{self.task}/{index}",
        )


def _plain(value: Any) -> Any:
    """JSON-ready copy (tuples to lists), so tasks travel to a server unchanged."""
    return json.loads(json.dumps(value, default=str))


def as_source(tasks: TaskSource | Sequence[Mapping[str, Any]] | str | Path | None) -> TaskSource:
    """A task source from a source, a list of rows, a ``.jsonl`` path, or ``rg:NAME``."""
    if tasks is None:
        return ReasoningGymSource("basic_arithmetic")
    if isinstance(tasks, str):
        return ReasoningGymSource(tasks[3:]) if tasks.startswith("rg:") else JsonlSource(tasks)
    if isinstance(tasks, Path):
        return JsonlSource(tasks)
    if isinstance(tasks, list | tuple):
        return ListSource(tasks)
    return tasks  # type: ignore[return-value]  # a TaskSource (duck-typed)
