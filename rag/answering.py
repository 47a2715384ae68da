"""The answer pipeline behind ``Assistant.ask`` / ``stream``:

retrieve (with the conversation's context) -> gate -> generate -> verify -> fallback.

``Answerer`` gets its parts (a retriever over one state of the index, the embedder, the
generator and the settings) from whoever makes it; ``Assistant`` makes one per question.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from .config import Settings
from .embedding import Embedder
from .generation import STOP, Generator, build_prompt
from .grounding import Gate, Scoring, extractive, sentence_evidence, verify
from .retrieval import Retriever
from .text import content_stems
from .types import Answer, Filters, turns

REFUSAL = "I couldn't find that in the articles."
OFF_LIMITS = ("I only answer from the articles, with a source for every claim, so I can't "
              "set them aside or follow instructions to. Ask me something about what they say.")
# Requests to answer from anything but the articles ("ignore the articles and ...",
# "forget your instructions", "use your own knowledge"): refused before retrieval.
_FILLER = r"(?:(?:all|any|the|your|these|those|my|of|previous|prior|above|earlier|system|" \
          r"given|provided|news|using|use|looking at|reading|consulting)\s+)*"
_OFF_LIMITS = re.compile(
    r"\b(?:ignore|disregard|forget|bypass|override|set aside|stop using)\s+" + _FILLER +
    r"(?:articles?|sources?|passages?|context|instructions?|rules?|prompts?|documents?|"
    r"citations?|guidelines?)\b"
    r"|\b(?:without|instead of|not from|rather than)\s+" + _FILLER +
    r"(?:articles?|sources?|passages?|documents?)\b"
    r"|\b(?:your own|your|prior|outside) (?:knowledge|training)\b"
    r"|\bmake (?:something|it|one|things|stuff|an answer|a story) up\b|\bjailbreak",
    re.IGNORECASE)
_PRONOUNS = re.compile(r"\b(he|she|it|they|him|her|them|his|hers|its|their|this|that|these|"
                       r"those|there|then)\b", re.IGNORECASE)


def previous_questions(history: Sequence) -> list[str]:
    """The user's earlier questions, oldest first (history as ``types.turns`` reads it)."""
    return [t.question for t in turns(history)]


def previous_answer(history: Sequence) -> str:
    """The text of the last answer given, or ""."""
    done = [t for t in turns(history) if t.answer_text]
    return done[-1].answer_text if done else ""


def contextual_query(question: str, history: Sequence) -> str:
    """The retrieval query: a follow-up ("Which outlet did he say it to?") is read together
    with the question before it; a question that stands alone is used as it is.

    A tiny base model is no reliable rewriter, so this is a rule: a question that refers
    back (a pronoun) or has fewer than three content words borrows the last question's.
    """
    earlier = previous_questions(history)
    if not earlier:
        return question
    words = [w for w in re.findall(r"\w+", question.lower()) if len(w) > 3]
    if _PRONOUNS.search(question) or len(words) < 3:
        return f"{earlier[-1]} {question}"
    return question


def focus(evidence, passages, limit: int) -> list:
    """Per passage, the spans of its best ``limit`` evidence sentences overall: a short
    prompt is both faster (the first token comes sooner) and easier for a tiny model."""
    spans: list[list[tuple[int, int]]] = [[] for _ in passages]
    seen = set()
    for ev in evidence:
        key = (passages[ev.passage].article.id, ev.start)
        if key in seen:
            continue
        seen.add(key)
        spans[ev.passage].append((ev.start, ev.end))
        if len(seen) == limit:
            break
    return [(p.article, s) for p, s in zip(passages, spans, strict=True)]


class Grounds(NamedTuple):
    """What an answer is built from: the retrieval query, the passages found (best first),
    the ones the answer may use, their sentences scored against the query, and, for a
    follow-up, the previous answer (empty otherwise)."""

    query: str
    passages: list
    top: list
    evidence: list
    retrieval_ms: float
    said: str


class Answerer:
    """Answers one question at a time from what ``retriever`` finds.

    Args:
        retriever: Hybrid search over one state of the index.
        embedder: Embeds the sentences retrieval has no stored vectors for.
        generator: The LLM (anything with ``stream`` and ``count_tokens``).
        settings: Sizes, thresholds and the gate's settings.
    """

    def __init__(self, retriever: Retriever, embedder: Embedder, generator: Generator,
                 settings: Settings):
        self.retriever = retriever
        self.embedder = embedder
        self.generator = generator
        self.settings = settings

    def ground(self, question: str, history: Sequence, filters: Filters | None) -> Grounds:
        """Retrieve with the conversation's context and score the best passages'
        sentences (with the query vector, sentence cosines and word counts retrieval
        already has)."""
        s = self.settings
        query = contextual_query(question, history)
        found = self.retriever.retrieve(query, max(s.top_k, s.answer_passages), filters)
        top = found.passages[:s.answer_passages]
        follow_up = query != question
        said = previous_answer(history) if follow_up else ""
        evidence = sentence_evidence(query, top, self.embedder.embed_batch, found.words,
                                     said=said, unknown_optional=follow_up,
                                     query_vector=found.query_vector,
                                     cosines=found.sentence_cosines,
                                     scoring=Scoring.from_settings(s))
        return Grounds(query, found.passages, top, evidence, found.ms, said)

    def prompt(self, grounds: Grounds) -> str:
        """The LLM's prompt: the best evidence sentences and the (contextual) question."""
        s = self.settings
        return build_prompt(grounds.query,
                            focus(grounds.evidence, grounds.top, s.prompt_sentences),
                            self.generator.count_tokens, s.n_ctx - s.max_answer_tokens - 16)

    def no_match(self, filters: Filters) -> str:
        """Why a filtered search found nothing; says so when undated articles were left
        out."""
        text = "No article matches the filters, so there is nothing to answer from."
        if filters.since or filters.until:
            store = self.retriever.store
            among = list(store.articles(filters.articles or None, with_text=False).values())
            undated = sum(1 for a in among if not a.date)
            if undated:
                text += (f" A date filter leaves out undated articles, and {undated} of the "
                         f"{len(among)} articles{' chosen' if filters.articles else ''} "
                         "have no date.")
        return text

    def stream(self, question: str, history: Sequence,
               filters: Filters | None) -> Iterator[str | Answer]:
        """The draft's pieces as they are generated, then the final ``Answer``."""
        s = self.settings
        began = time.perf_counter()
        if _OFF_LIMITS.search(question):
            timings = {"retrieval_ms": 0.0,
                       "total_ms": round((time.perf_counter() - began) * 1000, 1)}
            yield OFF_LIMITS
            yield Answer(OFF_LIMITS, "refused", (), (), timings)
            return
        grounds = self.ground(question, history, filters)
        query, passages, top, evidence = grounds.query, grounds.passages, grounds.top, \
            grounds.evidence
        timings = {"retrieval_ms": round(grounds.retrieval_ms, 1)}

        if not Gate.from_settings(s).answerable(evidence, question):
            text = REFUSAL + (" The closest passages are listed below." if passages else "")
            if filters is not None and filters.active and not passages:
                text = self.no_match(filters)
            timings["total_ms"] = round((time.perf_counter() - began) * 1000, 1)
            yield text
            yield Answer(text, "refused", (), tuple(passages[:3]), timings)
            return

        prompt = self.prompt(grounds)
        draft, first = [], None
        for piece in self.generator.stream(prompt, s.max_answer_tokens, STOP):
            if first is None:
                first = time.perf_counter()
                timings["first_token_ms"] = round((first - began) * 1000, 1)
            draft.append(piece)
            yield piece
        checked = verify("".join(draft), top)
        # The model's words are kept only when they restate the best supporting sentence:
        # on SQuAD, generated answers that leaned on other sentences were right 45% of the
        # time against 83% for the quoted best sentence.
        best = (top[evidence[0].passage].article.id, evidence[0].start)
        quoted = {(c.article_id, c.start) for c in checked.citations}
        # An answer that only restates the question ("In the United States." to "In what
        # area of the United States...?") says nothing: quote the sentence instead.
        said = re.sub(r"\[\d+\]", " ", checked.text)
        new_words = set(content_stems(said)) - set(content_stems(query))
        if checked.citations and best in quoted and new_words:
            mode, result = "generated", checked
        else:
            mode, result = "extractive", extractive(evidence, top, s.extractive_sentences,
                                                    s.extractive_near, said=grounds.said)
        timings.setdefault("first_token_ms", None)
        timings["total_ms"] = round((time.perf_counter() - began) * 1000, 1)
        yield Answer(result.text, mode, result.citations, tuple(top), timings)
