"""``text_similarity``: fuzzy (rapidfuzz), BLEU and chrF (sacrebleu), ROUGE (``rouge``: the
scores of Google's rouge-score, computed here)."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from rewardgym.errors import RewardError
from rewardgym.judges.base import Params
from rewardgym.judges.rules.rouge import rouge_f1
from rewardgym.judges.sync_rule import SyncRule
from rewardgym.judges.texts import reference_texts, text_of
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["SimilarityParams", "TextSimilarity"]

Metric = Literal[
    "fuzzy_ratio",
    "fuzzy_partial",
    "fuzzy_token_set",
    "bleu",
    "chrf",
    "rouge1",
    "rouge2",
    "rougeL",
]


class SimilarityParams(Params):
    metric: Metric = "fuzzy_ratio"
    lowercase: bool = False
    reference: str | list[str] | None = Field(
        default=None, description="fixed reference(s); default: the item's reference"
    )
    threshold: float | None = Field(
        default=None, ge=0, le=1, description="when set, score is 1.0 at or above it, else 0.0"
    )


class TextSimilarity(SyncRule):
    """Similarity to the reference in [0, 1] (the best over several references)."""

    type_id = "text_similarity"
    libraries = ("rapidfuzz", "sacrebleu")
    version = 2  # ROUGE computed here (rouge-score's numbers, without its NLTK)
    taxonomy = Taxonomy(basis=Basis.RULE)
    Params = SimilarityParams
    description = "Text similarity to the reference: fuzzy, BLEU, chrF or ROUGE, in [0, 1]"
    inline_chars = 4_000  # edit distances and ROUGE-L grow with len(response) * len(reference)

    @classmethod
    def warm_imports(cls) -> None:
        from rapidfuzz import fuzz  # noqa: F401
        from sacrebleu.metrics import BLEU, CHRF  # noqa: F401

    async def start(self) -> None:
        """Import the metric's library now, off the event loop (rouge-score takes seconds):
        the first request must not stall every other one."""
        await asyncio.to_thread(self._similarity, "warm up", "warm up")

    def _similarity(self, hyp: str, ref: str) -> float:
        metric = self.params.metric
        if metric.startswith("fuzzy"):
            from rapidfuzz import fuzz

            fn = {
                "fuzzy_ratio": fuzz.ratio,
                "fuzzy_partial": fuzz.partial_ratio,
                "fuzzy_token_set": fuzz.token_set_ratio,
            }[metric]
            return float(fn(hyp, ref)) / 100.0
        if metric == "bleu":
            from sacrebleu.metrics import BLEU

            return float(BLEU(effective_order=True).sentence_score(hyp, [ref]).score) / 100.0
        if metric == "chrf":
            from sacrebleu.metrics import CHRF

            return float(CHRF().sentence_score(hyp, [ref]).score) / 100.0
        return rouge_f1(metric, ref, hyp)

    def compute(self, item: Item) -> Result:
        p: SimilarityParams = self.params
        refs = p.reference if p.reference is not None else item.reference
        if refs is None or refs == [] or refs == "":
            raise RewardError(ErrorType.INVALID_INPUT, "text_similarity needs a reference")
        ref_list = reference_texts(refs, "text_similarity")
        hyp = text_of(item.response)
        if p.lowercase:
            hyp, ref_list = hyp.lower(), [r.lower() for r in ref_list]
        best = max(self._similarity(hyp, ref) for ref in ref_list)
        score = best if p.threshold is None else float(best >= p.threshold)
        return Result(score=score, scores={p.metric: best})
