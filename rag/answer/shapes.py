"""Answers shaped from whole source sentences, for the kinds the reader does not answer:

- "What did X say (about Y)?": X's own statements, closest to Y first chosen, up to three
  (``speech.py``);
- overview: three sentences of the best article chosen for coverage (maximal marginal
  relevance), in the article's order;
- summary: the lede, then a sentence from each stretch of the rest of the story.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.answer.citations import Evidence, Verified, citation
from rag.answer.questions import Asked
from rag.answer.spans import Shaped, extend_quote
from rag.answer.speech import quotes
from rag.config import Settings
from rag.types import Passage


def coverage(evidence: Sequence[Evidence], passages: Sequence[Passage],
             vectors: dict[tuple[str, int], np.ndarray], count: int, lede: bool = False,
             balance: float = 0.7) -> Shaped | None:
    """``count`` sentences of the best article chosen by maximal marginal relevance
    (relevance to the question against likeness to those already chosen), in the
    article's order, each cited; with ``lede``, the article's first sentence is taken
    first, as a news story's lede says what it is about."""
    if not evidence:
        return None
    article = passages[evidence[0].passage].article
    sentences = _sentences_of(article.id, evidence, passages)
    if lede:
        first = min(sentences, key=lambda ev: ev.start)
        chosen = [first]
    else:
        chosen = [sentences[0]]
    rest = [ev for ev in sentences if ev is not chosen[0]]
    top = max(ev.score for ev in sentences)
    while rest and len(chosen) < count:
        best = max(rest, key=lambda ev: _mmr(ev, chosen, article.id, vectors, top, balance))
        chosen.append(best)
        rest.remove(best)
    return _listed(chosen, passages)


def story(evidence: Sequence[Evidence], passages: Sequence[Passage],
          vectors: dict[tuple[str, int], np.ndarray], count: int,
          statement_words: int = Settings.statement_words, balance: float = 0.7
          ) -> Shaped | None:
    """A summary of the best article: its lede, then one sentence from each of ``count -
    1`` equal stretches of the rest of the story, in order, so it tells the beginning,
    the middle and the end; in each stretch the sentence of maximal marginal relevance
    (relevance to the question, the story's title, against likeness to those already
    chosen). Crossheads and captions (fewer than ``statement_words`` words, no full
    stop) are not chosen. By relevance alone the first four sentences came from the
    opening paragraphs, which are most like the title."""
    if not evidence:
        return None
    article = passages[evidence[0].passage].article
    sentences = sorted(_sentences_of(article.id, evidence, passages), key=lambda ev: ev.start)
    statements = [ev for ev in sentences if _statement(ev.text, statement_words)]
    if len(statements) >= count:
        sentences = statements
    chosen = [sentences[0]]
    rest = sentences[1:]
    top = max(ev.score for ev in sentences)
    parts = count - 1
    for k in range(parts):
        stretch = rest[round(k * len(rest) / parts):round((k + 1) * len(rest) / parts)]
        if stretch:
            chosen.append(max(stretch, key=lambda ev: _mmr(ev, chosen, article.id, vectors,
                                                           top, balance)))
    return _listed(chosen, passages)


def _statement(text: str, statement_words: int) -> bool:
    """Whether a sentence says something: enough words and a full stop (not a crosshead
    such as "The Crimea issue")."""
    text = text.strip()
    return len(text.split()) >= statement_words and text.endswith(
        (".", "!", "?", "\u201d", '"', "\u2019", "'"))


def _sentences_of(article_id: str, evidence: Sequence[Evidence],
                  passages: Sequence[Passage]) -> list[Evidence]:
    """The article's sentences among the evidence, once each (best scored first)."""
    pool: dict[int, Evidence] = {}
    for ev in evidence:
        if passages[ev.passage].article.id == article_id:
            pool.setdefault(ev.start, ev)
    return list(pool.values())


def _mmr(ev: Evidence, chosen: list[Evidence], article_id: str,
         vectors: dict[tuple[str, int], np.ndarray], top: float, balance: float) -> float:
    """Relevance to the question against likeness to the sentences already chosen."""
    v = vectors.get((article_id, ev.start))
    like = max((float(v @ vectors[(article_id, c.start)]) for c in chosen
                if v is not None and (article_id, c.start) in vectors), default=0.0)
    return balance * ev.score / (top or 1.0) - (1 - balance) * like


def _listed(chosen: list[Evidence], passages: Sequence[Passage]) -> Shaped:
    """The chosen sentences, in the article's order, as a list, each quoted whole and
    cited."""
    article = passages[chosen[0].passage].article
    citations, parts = [], []
    for ev in sorted(chosen, key=lambda ev: ev.start):
        s, e = extend_quote(article.text, ev.start, ev.end)
        if citations and s < citations[-1].end:
            continue
        c = citation(len(citations) + 1, passages[ev.passage], s, e)
        citations.append(c)
        parts.append(f"{' '.join(c.quote.split())} [{c.n}]")
    return Shaped(Verified("\n".join(f"- {p}" for p in parts), tuple(citations)))


def shape(asked: Asked, evidence: Sequence[Evidence], passages: Sequence[Passage],
          vectors: dict[tuple[str, int], np.ndarray], settings: Settings | None = None
          ) -> Shaped | None:
    """The answer of the asked kind (quote, overview, summary), or None when the articles
    hold no such answer."""
    settings = settings or Settings()
    if asked.kind == "quote":
        return quotes(asked, evidence, passages, margin=settings.quote_margin)
    if asked.kind == "overview":
        return coverage(evidence, passages, vectors, 3)
    if asked.kind == "summary":
        return story(evidence, passages, vectors, 4, settings.statement_words)
    return None
