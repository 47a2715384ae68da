"""The answer pipeline behind ``Assistant.ask`` / ``stream``:

retrieve (with the conversation's context) -> gate -> generate -> verify -> fallback.

``Answerer`` gets its parts (a retriever over one state of the index, the embedder, the
generator and the settings) from whoever makes it; ``Assistant`` makes one per question.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from rag.answer import parser as nlp
from rag.answer.citations import Evidence, Gate, Scoring, sentence_evidence, verify
from rag.answer.generation import STOP, Generator, build_prompt
from rag.answer.questions import Asked, Specific, classify
from rag.answer.reader.reading import read_answer
from rag.answer.retrieval import Retriever
from rag.answer.shapes import Shaped, shape
from rag.config import Settings
from rag.errors import ModelServerError
from rag.index import Embedder
from rag.lexicon import (
    FOLLOW_UP_PERSON,
    FOLLOW_UP_POSSESSIVE,
    META_WORDS,
    PERSON_PRONOUNS_ANY,
    QUESTION_WORDS,
    REFERRING,
    STOPWORDS,
)
from rag.text import content_stems, words
from rag.types import Answer, Filters, Passage, Progress, turns

log = logging.getLogger(__name__)

REFUSAL = "I couldn't find that in the articles."
QUOTED_INSTEAD = " This answer quotes the articles instead."  # after a model server error
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
_PRONOUNS = re.compile(r"\b(" + "|".join(sorted(REFERRING)) + r")\b", re.IGNORECASE)


def previous_questions(history: Sequence) -> list[str]:
    """The user's earlier questions, oldest first (history as ``types.turns`` reads it)."""
    return [t.question for t in turns(history)]


def previous_answer(history: Sequence) -> str:
    """The text of the last answer given, or ""."""
    done = [t for t in turns(history) if t.answer_text]
    return done[-1].answer_text if done else ""


def named_before(history: Sequence) -> str:
    """Whom a follow-up's "he" or "she" means: the person the last answer named as its
    direct answer ("Who will run Nissan?" - "Toshiyuki Shiga"), else the person the last
    question named ("How much have Newcastle fined Craig Bellamy?" - "£80,000" - "How old
    is he?"); "" when neither names one. An answer known only by its text (from the
    OpenAI endpoint or the page) gives its direct answer as the text before its dash."""
    done = turns(history)
    if not done:
        return ""
    span = getattr(done[-1].answer, "span", None) or ""
    text = done[-1].answer_text or ""
    if not span and " \u2014 " in text:
        span = text.split(" \u2014 ", 1)[0]
    for doc in nlp.parse([span, done[-1].question]):
        person = next((e.text for e in doc.ents if e.label_ == "PERSON"), "")
        if person:
            return person
    return ""


def names_a_subject(doc) -> bool:
    """Whether a parsed question names who or what it is about (a person or an
    organisation, or a proper noun as its subject)."""
    return any(e.label_ in ("PERSON", "ORG") for e in doc.ents) or any(
        t.pos_ == "PROPN" and t.dep_ in ("nsubj", "nsubjpass") for t in doc)


def contextual_query(question: str, history: Sequence, named: bool = False) -> str:
    """The retrieval query: a follow-up ("Which outlet did he say it to?") is read together
    with the question before it; a question that stands alone is used as it is.

    A tiny base model is no reliable rewriter, so this is a rule: a question that refers
    back (a pronoun) or has fewer than three content words borrows the last question's,
    unless it ``named`` its own subject ("What did Gordon Brown say about his visit?").
    """
    earlier = previous_questions(history)
    if not earlier or named:
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
    follow-up, the previous answer (empty otherwise). ``pool`` and ``pool_evidence`` widen
    the top passages to every chunk of their best articles (for the shaped answers), and
    ``vectors`` holds the pool's sentence vectors by (article id, start)."""

    query: str
    passages: list
    top: list
    evidence: list
    retrieval_ms: float
    said: str
    pool: list = []
    pool_evidence: list = []
    vectors: dict = {}


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

    def read(self, question: str, history: Sequence) -> tuple[Asked, str]:
        """What the question asks for, and the retrieval query (a follow-up is read with
        the question before it; a summary is searched by its topic)."""
        earlier = previous_questions(history)
        doc, *before = nlp.parse([question] + earlier[-1:])
        asked = classify(question, doc)
        query = contextual_query(question, history, named=names_a_subject(doc))
        pronoun = any(t.lower_ in PERSON_PRONOUNS_ANY for t in doc)
        unnamed = asked.kind == "quote" and not asked.speaker_names \
            and not asked.speaker_roles
        person = named_before(history) if before and (pronoun or unnamed) else ""
        if unnamed and before:
            # "What did he say?": the speaker is the one the question before named, else
            # the person "he" means ("Who scored the second goal?" - "Robbie Keane").
            earlier_asked = classify(earlier[-1], before[0])
            if not earlier_asked.speaker_names and not earlier_asked.speaker_roles \
                    and person:
                earlier_asked = replace(earlier_asked, speaker=person,
                                        speaker_names=(person.split()[-1],))
            asked = replace(asked, speaker=earlier_asked.speaker,
                            speaker_names=earlier_asked.speaker_names,
                            speaker_roles=earlier_asked.speaker_roles)
        if asked.kind == "summary" and (query == question or not _content(asked.topic)):
            # A summary is searched by its own topic; without one ("Summarize the
            # article.") it is the story the conversation is about, never the words of
            # the question before.
            query = asked.topic
        if query != question and pronoun and person:
            # In a follow-up, "he" or "she" (``named_before``: "Who has Vodafone picked?"
            # - "William Morrow" - "When does he take over?") is one of the question's
            # specifics, to be named in the very sentence the answer comes from (or be
            # its "he").
            asked = replace(asked, specifics=(*asked.specifics,
                                              Specific(person, "PERSON", near=True)))
        return asked, query

    def ground(self, question: str, history: Sequence, filters: Filters | None,
               query: str | None = None, widen: bool = False) -> Grounds:
        """Retrieve with the conversation's context and score the best passages'
        sentences (with the query vector, sentence cosines and word counts retrieval
        already has); with ``widen`` (a shaped answer), every sentence of the best two
        articles too."""
        s = self.settings
        query = query or contextual_query(question, history)
        found = self.retriever.retrieve(query, max(s.top_k, s.answer_passages), filters)
        top = found.passages[:s.answer_passages]
        follow_up = query != question
        said = previous_answer(history) if follow_up else ""
        common = dict(said=said, unknown_optional=follow_up, query_vector=found.query_vector,
                      scoring=Scoring.from_settings(s))
        evidence = sentence_evidence(query, top, self.embedder.embed_batch, found.words,
                                     cosines=found.sentence_cosines, **common)
        if not widen:
            return Grounds(query, found.passages, top, evidence, found.ms, said)
        pool, cosines, vectors = self._pool(top, found)
        pool_evidence = sentence_evidence(query, pool, self.embedder.embed_batch, found.words,
                                          cosines=cosines, **common)
        return Grounds(query, found.passages, top, evidence, found.ms, said, pool,
                       pool_evidence, vectors)

    def _pool(self, top: list, found) -> tuple[list, dict, dict]:
        """The top passages and every other chunk of their first two articles, with the
        sentences' cosines to the query and their vectors."""
        store = self.retriever.store
        articles = list(dict.fromkeys(p.article.id for p in top))[:2]
        by_id = {p.article.id: p.article for p in top}
        have = {p.chunk.id for p in top}
        extra = [cid for aid in articles for cid in store.chunk_ids(aid) if cid not in have]
        chunks = store.chunks(extra)
        pool = list(top) + [Passage(chunks[c], by_id[chunks[c].article_id], 0.0)
                            for c in extra if c in chunks]
        stored = store.sentence_vectors(p.chunk.id for p in pool)
        q = np.asarray(found.query_vector, dtype=np.float32)
        cosines = {cid: v @ q for cid, v in stored.items()}
        vectors = {}
        for p in pool:
            rows = stored.get(p.chunk.id)
            if rows is not None and len(rows) == len(p.chunk.sentences):
                for (start, _), row in zip(p.chunk.sentences, rows, strict=True):
                    vectors.setdefault((p.article.id, start), row)
        return pool, cosines, vectors

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
               filters: Filters | None) -> Iterator[str | Progress | Answer]:
        """Progress while working, then the answer's text (never taken back: every piece
        is part of the final text), then the final ``Answer``."""
        began = time.perf_counter()
        timings: dict = {"retrieval_ms": 0.0}

        def finish(text: str, mode: str, citations=(), passages=(), span=None,
                   kind="other", fault: ModelServerError | None = None
                   ) -> Iterator[str | Answer]:
            timings["first_token_ms"] = round((time.perf_counter() - began) * 1000, 1)
            yield text
            timings["total_ms"] = round((time.perf_counter() - began) * 1000, 1)
            notice = f"{fault}{QUOTED_INSTEAD}" if fault else ""
            yield Answer(text, mode, tuple(citations), tuple(passages), timings, span, kind,
                         notice, type(fault).__name__ if fault else "",
                         str(fault) if fault else "")

        if _OFF_LIMITS.search(question):
            yield from finish(OFF_LIMITS, "refused")
            return
        yield Progress("Searching the articles")
        asked, query = self.read(question, history)
        topicless = asked.kind == "summary" and not _content(query)
        if topicless:
            query = self._summary_target(history)
            if query is None:
                yield from finish(WHICH_STORY, "refused", kind=asked.kind)
                return
        # "When does he take over?" after an answer that named him (the person ``read``
        # made a specific): the reader is asked about him by name.
        person = next((s.text for s in reversed(asked.specifics)
                       if s.near and s.label == "PERSON"), "")
        grounds = self.ground(question, history, filters, query,
                              widen=asked.kind not in READ)
        timings["retrieval_ms"] = round(grounds.retrieval_ms, 1)
        passages = grounds.passages

        def refuse() -> Iterator[str | Answer]:
            text = REFUSAL  # a face that lists ``Answer.passages`` heads them itself
            if filters is not None and filters.active and not passages:
                text = self.no_match(filters)
            yield from finish(text, "refused", passages=passages[:3], kind=asked.kind)

        if asked.kind in READ:
            yield from self._read(question, asked, person, grounds, refuse, finish)
            return
        # A question for what someone said is judged by whether that speaker said
        # something there: its "about Y" words are often not the words the speaker used.
        gate = Gate.from_settings(self.settings)
        if not topicless and asked.kind != "quote" and \
                not gate.answerable(grounds.evidence, question):
            yield from refuse()
            return
        shaped = shape(asked, grounds.pool_evidence, grounds.pool, grounds.vectors, self.settings)
        if shaped is None:
            yield from refuse()
            return
        yield from finish(shaped.verified.text, "extractive", shaped.verified.citations,
                          _cited(grounds, shaped), shaped.span, asked.kind)

    def _read(self, question: str, asked: Asked, person: str, grounds: Grounds, refuse,
              finish) -> Iterator[str | Progress | Answer]:
        """The reader's answer (``rag.answer.reader``): its span and the sentence that holds it;
        for an open question ("other") the model may word it, kept only when it restates
        that sentence. Refused when the reader finds no answer."""
        s = self.settings
        found = read_answer(as_named(question, person), grounds.passages, asked.kind,
                            s.reader_threshold, limit=s.reader_passages,
                            asked=asked if s.reader_specifics else None)
        if found is None:
            yield from refuse()
            return
        cited = _cited_passages(grounds, found.verified.citations)
        if asked.kind != "other":
            yield from finish(found.verified.text, "extractive", found.verified.citations,
                              cited, found.span, asked.kind)
            return
        yield Progress("Checking the sources")
        try:
            mode, result = self._generate(_led_by(grounds, cited[0], found))
        except ModelServerError as exc:
            # A model server that is down, slow or broken costs the model's wording, not
            # the answer: the reader's answer is given, with a notice saying why.
            log.warning("%s", exc)
            yield from finish(found.verified.text, "extractive", found.verified.citations,
                              cited, found.span, asked.kind, fault=exc)
            return
        if mode != "generated":
            result = found.verified
        yield from finish(result.text, mode, result.citations, cited, found.span, asked.kind)

    def _generate(self, grounds: Grounds):
        """The model's answer where it restates the best supporting sentence, checked
        sentence by sentence; otherwise the best sentences quoted.

        Raises:
            ModelServerError: the model server failed (nothing of its draft is used).
        """
        s = self.settings
        top, evidence = grounds.top, grounds.evidence
        draft = "".join(self.generator.stream(self.prompt(grounds), s.max_answer_tokens, STOP))
        checked = verify(draft, top)
        # The model's words are kept only when they restate the best supporting sentence:
        # on SQuAD, generated answers that leaned on other sentences were right 45% of the
        # time against 83% for the quoted best sentence.
        best = (top[evidence[0].passage].article.id, evidence[0].start)
        quoted = {(c.article_id, c.start) for c in checked.citations}
        # An answer that only restates the question ("In the United States." to "In what
        # area of the United States...?") says nothing: quote the sentence instead.
        said = re.sub(r"\[\d+\]", " ", checked.text)
        new_words = set(content_stems(said)) - set(content_stems(grounds.query))
        if checked.citations and best in quoted and new_words:
            return "generated", checked
        return "extractive", None

    def _summary_target(self, history: Sequence) -> str | None:
        """What "Summarise the article." means: the article the last answer cited, or the
        only article there is; None when that is not clear."""
        done = [t for t in turns(history) if isinstance(t.answer, Answer)
                and t.answer.citations]
        if done:
            return done[-1].answer.citations[0].title
        store = self.retriever.store
        if store.count("articles") == 1:
            return next(iter(store.articles(with_text=False).values())).title
        return None


WHICH_STORY = ("Which story should I summarise? Name it, for example \u201cSummarise the "
               "story about the port strike.\u201d")


def _content(query: str) -> list[str]:
    return [w for w in words(query) if w not in STOPWORDS and w not in META_WORDS
            and w not in QUESTION_WORDS]


def _cited(grounds: Grounds, shaped: Shaped) -> list:
    """The passages the citations quote from (for showing each quote in its context),
    then the top passages."""
    out, seen = [], set()
    for c in shaped.verified.citations:
        for p in grounds.pool:
            if p.article.id == c.article_id and p.chunk.start <= c.start < p.chunk.end \
                    and p.chunk.id not in seen:
                out.append(p)
                seen.add(p.chunk.id)
                break
    return out + [p for p in grounds.top if p.chunk.id not in seen]


#: The kinds the reader answers (the rest: what someone said, overviews and summaries).
READ = frozenset({"who", "when", "where", "number", "why", "other"})
_HE = re.compile(rf"\b({'|'.join(sorted(FOLLOW_UP_PERSON))})\b"
                 rf"|\b({'|'.join(sorted(FOLLOW_UP_POSSESSIVE))})\b", re.IGNORECASE)


def as_named(question: str, person: str) -> str:
    """The question with the person a follow-up's "he" or "she" means put in its place
    ("How old is he?" -> "How old is Craig Bellamy?"), for the reader, which reads one
    question at a time."""
    if not person:
        return question
    return _HE.sub(lambda m: person if m.group(1) else f"{person}'s", question, count=1)


def _cited_passages(grounds: Grounds, citations) -> list:
    """The passages the citations quote from, then the other passages found."""
    first = [p for c in citations for p in grounds.passages if p.chunk.id == c.chunk_id][:1]
    return first + [p for p in grounds.top if p not in first]


def _led_by(grounds: Grounds, passage, found) -> Grounds:
    """The grounds with the reader's passage first and its sentence as the best evidence,
    so the model is shown that sentence first and must restate it."""
    top = [passage] + [p for p in grounds.top if p.chunk.id != passage.chunk.id]
    index = {p.chunk.id: i for i, p in enumerate(top)}
    c = found.verified.citations[0]
    lead = Evidence(0, c.start, c.end, c.quote, 1.0, 1.0, float("inf"))
    rest = [replace(ev, passage=index[grounds.top[ev.passage].chunk.id])
            for ev in grounds.evidence
            if grounds.top[ev.passage].chunk.id in index
            and not (grounds.top[ev.passage].chunk.id == c.chunk_id and ev.start == c.start)]
    return grounds._replace(top=top, evidence=[lead] + rest)
