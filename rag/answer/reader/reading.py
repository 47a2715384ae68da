"""The reader's answer: its best span over the top passages, cited by the sentence that
holds it, or nothing when the reader says the passages do not answer.

Each of the top passages of the best article is read whole (a chunk is at most 200 word
pieces, so one window each). The answer is the highest-scoring span that the asked kind's
check (``CHECKS``) does not veto, when its margin over "no answer" reaches
``Settings.reader_threshold``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.citations import Verified, citation
from rag.answer.spans import extend_quote, holds, neighbourhood
from rag.lexicon import MONTHS, NUMBER_WORDS, TIME_WORDS, WEEKDAYS
from rag.types import Passage


def _any_word(*lists: frozenset[str]) -> str:
    return r"\b(?:" + "|".join(sorted(set().union(*lists), key=len, reverse=True)) + r")\b"


#: What a span must hold to answer a question of each kind (``questions.classify``'s kinds):
#: a when-question's span a date or a time word, a how-many/how-much one's a number.
CHECKS = {
    "when": re.compile(r"\d|" + _any_word(MONTHS, WEEKDAYS, TIME_WORDS), re.IGNORECASE),
    "number": re.compile(r"\d|" + _any_word(NUMBER_WORDS), re.IGNORECASE),
}


@dataclass(frozen=True)
class Read:
    """The reader's answer: the span, the answer text (span, then the cited sentence) with
    its citation, and the span's margin over "no answer"."""

    span: str
    verified: Verified
    margin: float


_LOCK = threading.Lock()
_READER = None


def shared_reader():
    """The shipped reader, loaded once per process."""
    global _READER
    with _LOCK:
        if _READER is None:
            from rag.answer.reader.model import Reader

            _READER = Reader()
        return _READER


def read_answer(question: str, passages: Sequence[Passage], kind: str, threshold: float,
                reader=None, limit: int = 5, asked=None) -> Read | None:
    """The reader's answer from those of the first ``limit`` passages (each read whole)
    that belong to the best article, or None
    when no span clears ``threshold`` and its kind's check. With ``asked``
    (``questions.Asked``), a span whose paragraph, title and lede do not hold what the
    question names (``spans.holds``: "Sri Lanka" in a story about Indonesia) is no answer."""
    reader = reader or shared_reader()
    # Retrieval's best article is the story the question is about (the reader does not
    # know retrieval's order: a span of another article scores as high as its own).
    chosen = [p for p in _distinct(passages)[:limit] if p.article.id == passages[0].article.id] \
        if passages else []
    if not chosen:
        return None
    readings = reader.read(question, [p.chunk.text for p in chosen], top=5)
    check = CHECKS.get(kind)
    for r in sorted(readings, key=lambda r: -r.score):
        p = chosen[r.context]
        span = _clean(p.chunk.text[r.start:r.end])
        if not span or (check is not None and not check.search(span)):
            continue
        start = p.chunk.start + r.start
        if asked is not None and not holds(asked, neighbourhood(p, start, start + len(span))):
            continue
        if r.margin < threshold:
            return None
        s, e = _sentence(p, start)
        c = citation(1, p, s, e)
        sentence = " ".join(c.quote.split())
        text = f"{sentence} [1]" if _covers(span, sentence) else f"{span} \u2014 {sentence} [1]"
        return Read(span, Verified(text, (c,)), r.margin)
    return None


_MARKS = "\"\u201c\u201d"


def _clean(span: str) -> str:
    """The span without the punctuation around it, and without quotation marks when they do
    not pair up inside it (a span may start or end inside a quotation)."""
    span = span.strip(" ,;:")
    opened, closed = span.count("\u201c"), span.count("\u201d")
    if opened != closed or span.count('"') % 2:
        span = span.translate({ord(m): None for m in _MARKS}).strip(" ,;:")
    return span


def _distinct(passages: Sequence[Passage]) -> list[Passage]:
    seen, out = set(), []
    for p in passages:
        if p.chunk.id not in seen:
            seen.add(p.chunk.id)
            out.append(p)
    return out


def _sentence(p: Passage, at: int) -> tuple[int, int]:
    """The sentence of ``p``'s chunk that holds article offset ``at`` (widened to the
    quotation it is part of)."""
    for s, e in p.chunk.sentences:
        if s <= at < e:
            return extend_quote(p.article.text, s, e)
    return p.chunk.start, p.chunk.end


def _covers(span: str, sentence: str) -> bool:
    """Whether the span is (nearly) the whole sentence, so saying it twice adds nothing."""
    return len(span) >= 0.8 * len(sentence.rstrip(".!?\"\u201d "))
