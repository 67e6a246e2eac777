"""``search``: BM25 over a local corpus (a JSONL file of ``{"id", "title", "text"}`` rows),
no network."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

from rewardgym.judges.tools.tool import Tool, ToolError

__all__ = ["BM25Index", "search_tool"]

_WORDS = re.compile(r"\w+")


def _terms(text: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(text)]


class BM25Index:
    """Okapi BM25 (k1 1.5, b 0.75) over documents held in memory."""

    def __init__(self, documents: list[dict[str, str]], k1: float = 1.5, b: float = 0.75):
        if not documents:
            raise ValueError("the corpus is empty")
        self.documents = documents
        self.k1, self.b = k1, b
        self._terms = [Counter(_terms(f"{d.get('title', '')} {d['text']}")) for d in documents]
        self._lengths = [sum(t.values()) for t in self._terms]
        self._average = max(1.0, sum(self._lengths) / len(self._lengths))  # no words: no zero
        frequency: Counter[str] = Counter()
        for terms in self._terms:
            frequency.update(terms.keys())
        n = len(documents)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}

    @classmethod
    def from_jsonl(cls, path: str | Path) -> BM25Index:
        rows = []
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                row = json.loads(line)
                if not isinstance(row.get("text"), str):
                    raise ValueError(f"{path}:{n}: a document needs a text")
                rows.append({k: str(v) for k, v in row.items()})
        return cls(rows)

    def search(self, query: str, k: int = 3) -> list[tuple[float, dict[str, str]]]:
        """The ``k`` best documents for ``query`` with their scores (none that share no term)."""
        words = _terms(query)
        scored = []
        for i, terms in enumerate(self._terms):
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * self._lengths[i] / self._average)
            for word in words:
                tf = terms.get(word, 0)
                if tf:
                    score += self._idf[word] * tf * (self.k1 + 1) / (tf + norm)
            if score > 0:
                scored.append((score, i))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [(score, self.documents[i]) for score, i in scored[:k]]


def search_tool(index: BM25Index, max_chars: int = 600) -> Tool:
    def search(query: str, k: int = 3) -> str:
        """Search the document collection; the best passages, each with its id and title."""
        if not query.strip():
            raise ToolError("an empty query")
        found = index.search(query[:500], max(1, min(k, 5)))
        if not found:
            return "no document matches"
        return "\n\n".join(
            f"[{d.get('id', '?')}] {d.get('title', '')}\n{d['text'][:max_chars]}".strip()
            for _, d in found
        )

    return Tool.from_function(search)
