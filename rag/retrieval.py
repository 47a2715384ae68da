"""Finding the passages that answer a query: dense + BM25, fused, grouped, filtered.

Dense (FAISS) and lexical (SQLite FTS5 BM25) each propose candidates. Every candidate is
then scored by both (the cosine from its stored vector, BM25 restricted to the candidate
set), each score is normalised within the query, and the two are mixed with a weight
(``Settings.dense_weight``). Scoring every candidate on both signals beats rank fusion,
which only sees ranks and treats a missing score as "last".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .embedding import Embedder
from .store import Store
from .types import Filters, Passage

# Common English function words; they add noise to an OR query and cost time.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
s t don doesn didn isn wasn aren weren won wouldn shouldn couldn ve ll re d m o y
""".split())

_WORD = re.compile(r"\w+", re.UNICODE)


def match_expression(query: str) -> str | None:
    """An FTS5 OR-query of the query's content words (None when it has none)."""
    words = [w for w in _WORD.findall(query.lower())]
    content = [w for w in words if w not in STOPWORDS] or words
    unique = list(dict.fromkeys(content))[:64]
    if not unique:
        return None
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in unique)


@dataclass
class Retriever:
    """Hybrid search over one generation of the index.

    Attributes:
        candidates: How many candidates each of dense and lexical search proposes.
        dense_weight: Weight of the normalised cosine in the fused score (the rest is BM25).
        per_article: Most passages from one article in a result list (None: no limit).
    """

    store: Store
    embedder: Embedder
    candidates: int = 50
    dense_weight: float = 0.5
    per_article: int | None = 3
    reranker: object | None = None

    def search(self, query: str, k: int = 5, filters: Filters | None = None,
               per_article: int | None = -1) -> list[Passage]:
        """The ``k`` best passages for ``query``, best first."""
        per_article = self.per_article if per_article == -1 else per_article
        scored = self.scores(query, filters)
        ranked = sorted(scored.items(), key=lambda kv: -kv[1])
        if self.reranker is not None:
            ranked = self.reranker.rerank(self.store, query, ranked[:max(3 * k, 20)])
        passages = _passages(self.store, ranked[:max(4 * k, 30)])
        return group(passages, k, per_article)

    def scores(self, query: str, filters: Filters | None = None) -> dict[int, float]:
        """Fused scores of the candidate chunks."""
        allowed = self.store.allowed_ids(filters)
        if allowed is not None and len(allowed) == 0:
            return {}
        qvec = self.embedder.embed_batch([query])[0]
        dense = dict(self.store.search_dense(qvec, self.candidates, allowed))
        match = match_expression(query)
        lexical = dict(self.store.search_lexical(match, self.candidates, filters)) \
            if match else {}
        ids = list(dense.keys() | lexical.keys())
        if not ids:
            return {}
        missing_dense = [i for i in ids if i not in dense]
        dense.update(self.store.dense_scores(qvec, missing_dense))
        missing_lex = [i for i in ids if i not in lexical]
        if match and missing_lex:
            lexical.update(self.store.search_lexical(match, len(missing_lex), ids=missing_lex))
        return fuse(ids, dense, lexical, self.dense_weight)


def fuse(ids: Sequence[int], dense: dict[int, float], lexical: dict[int, float],
         dense_weight: float) -> dict[int, float]:
    """Mix max-normalised dense and BM25 scores; a chunk absent from a list scores 0 there."""
    d = _normalise(np.array([dense.get(i, 0.0) for i in ids]))
    b = _normalise(np.array([lexical.get(i, 0.0) for i in ids]))
    fused = dense_weight * d + (1 - dense_weight) * b
    return dict(zip(ids, fused.tolist(), strict=True))


def _normalise(x: np.ndarray) -> np.ndarray:
    """Scale so the best candidate scores 1 and a zero score stays 0."""
    top = x.max() if len(x) else 0.0
    return x / top if top > 0 else np.zeros_like(x)


def group(passages: list[Passage], k: int, per_article: int | None) -> list[Passage]:
    """Keep the best ``k``, dropping duplicate texts and capping passages per article."""
    out: list[Passage] = []
    seen_text: set[str] = set()
    per: dict[str, int] = {}
    for p in passages:
        key = " ".join(p.chunk.text.split())
        if key in seen_text:
            continue  # the same text in another file (syndicated copies)
        if per_article is not None and per.get(p.article.id, 0) >= per_article:
            continue
        seen_text.add(key)
        per[p.article.id] = per.get(p.article.id, 0) + 1
        out.append(p)
        if len(out) == k:
            break
    return out


def _passages(store: Store, hits: list[tuple[int, float]]) -> list[Passage]:
    chunks = store.chunks(cid for cid, _ in hits)
    articles = store.articles({c.article_id for c in chunks.values()})
    return [Passage(chunks[cid], articles[chunks[cid].article_id], score)
            for cid, score in hits if cid in chunks]


class CrossEncoderReranker:
    """Re-scores the top candidates with a local cross-encoder model (none is bundled)."""

    def __init__(self, path: str):
        from pathlib import Path

        from .errors import ModelNotFound

        if not Path(path).expanduser().is_dir():
            raise ModelNotFound(f"Reranker {path!r} is not a directory - pass the path of a "
                                "cross-encoder model saved on this machine.")
        self.path = str(Path(path).expanduser())
        self._model = None

    def rerank(self, store: Store, query: str,
               ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        if self._model is None:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.path, device="cpu", local_files_only=True)
        chunks = store.chunks(cid for cid, _ in ranked)
        ids = [cid for cid, _ in ranked if cid in chunks]
        scores = self._model.predict([(query, chunks[i].text) for i in ids])
        return sorted(zip(ids, map(float, scores), strict=True), key=lambda kv: -kv[1])
