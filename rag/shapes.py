"""An answer shaped for the kind of question, built from whole source sentences.

- who / when / where / how many / how much: the typed span first (an entity of the asked
  type, verbatim from the sentence), then the sentence it came from;
- "What did X say (about Y)?": X's own statements, closest to Y first chosen, up to three;
- why / overview / summary: two to five sentences of the best article chosen for coverage
  (maximal marginal relevance), in the article's order.

Every candidate must keep the question's specifics (``questions.Specific``) in its
paragraph, and a typed answer needs an entity of the asked type that the question does not
already name: otherwise there is no answer of that kind, and the caller refuses. Who said
what is ``speech.py``'s; the spans both quote are ``spans.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import nlp
from .grounding import Evidence, Verified, citation
from .questions import SPEECH_VERBS, TYPED, Asked
from .spans import Shaped, extend_quote, holds, paragraph, quoted, ranked_sentences
from .speech import quotes
from .text import STOPWORDS, stem, words
from .types import Passage

# How far below the best sentence a sentence may score and still be used.
TYPED_MARGIN = 0.45


def _scope(passages: Sequence[Passage], ev: Evidence) -> str:
    """Where a typed answer's specifics must be: the sentence's paragraph, or the
    article's title and first paragraph (a news story names its subject there once)."""
    text = passages[ev.passage].article.text
    s, e = paragraph(text, ev.start, ev.end)
    _, lede_end = paragraph(text, 0, 0)
    return f"{passages[ev.passage].article.title}\n{text[:lede_end]}\n{text[s:e]}"


def typed(asked: Asked, question: str, evidence: Sequence[Evidence],
          passages: Sequence[Passage], limit: int = 8, follow_up: bool = False
          ) -> Shaped | None:
    """The best sentence holding an entity of the asked type that the question does not
    name, with the question's specifics in its paragraph; the entity is the span. For a
    follow-up, sentences holding one of its own words ("And when did he resign?") come
    first: the words it shares with the question before it say little."""
    own = set(asked.own_words)
    candidates = [ev for ev in _with_next(ranked_sentences(evidence, TYPED_MARGIN), evidence,
                                          passages)
                  if holds(asked, _scope(passages, ev), ev.text)][:limit]
    if follow_up and own:
        candidates.sort(key=lambda ev: not own & {stem(w) for w in words(ev.text)})
    if not candidates:
        return None
    asked_words = {stem(w) for w in words(question) if w not in STOPWORDS}
    # A follow-up's "he" is one of the question's words too ("When does he take over?").
    asked_words |= {stem(k.lower()) for s in asked.specifics if s.near for k in s.keys()}
    docs = nlp.parse([ev.text for ev in candidates])
    for ev, doc in zip(candidates, docs, strict=True):
        span = _best_entity(asked, doc, asked_words, asked.subject_of)
        if span is None:
            continue
        quote = extend_quote(passages[ev.passage].article.text, ev.start, ev.end)
        c = citation(1, passages[ev.passage], *quote)
        answer = _whole_amount(span)
        text = f"{answer} \u2014 {quoted(c.quote)} [1]"
        return Shaped(Verified(text, (c,)), answer)
    return None


_CURRENCY = frozenset("$ \u00a3 \u20ac \u00a5 US$ A$ C$ HK$".split())
_SCALE = frozenset("m bn k million billion trillion".split())


def _whole_amount(span) -> str:
    """The span as the sentence writes it: an amount keeps its currency sign and its
    scale ("$901m", where the entity is "901"), verbatim from the sentence."""
    doc, start, end = span.doc, span.start, span.end
    if span.label_ == "MONEY" and start > 0 and doc[start - 1].text in _CURRENCY:
        start -= 1
    if span.label_ in ("MONEY", "CARDINAL") and end < len(doc) and \
            doc[end].lower_.rstrip(".") in _SCALE and not doc[end - 1].whitespace_:
        end += 1
    text = doc[start:end].text
    return text[:-1] if text.endswith(".") and not span.text.endswith(".") else text


def _with_next(ranked: list[Evidence], evidence: Sequence[Evidence],
               passages: Sequence[Passage], first: int = 3) -> list[Evidence]:
    """``ranked``, each of its ``first`` sentences followed by the next sentence of its
    paragraph: a story often names the thing asked about in one sentence and gives the
    answer in the next ("X left the company. Y will take on the role.")."""
    by_article: dict[str, list[Evidence]] = {}
    for ev in evidence:
        by_article.setdefault(passages[ev.passage].article.id, []).append(ev)
    for evs in by_article.values():
        evs.sort(key=lambda ev: ev.start)
    out, seen = [], set()
    for k, ev in enumerate(ranked):
        if (ev.passage, ev.start) in seen:
            continue
        out.append(ev)
        seen.add((ev.passage, ev.start))
        if k >= first:
            continue
        article = passages[ev.passage].article
        later = [x for x in by_article[article.id] if x.start >= ev.end]
        if later and paragraph(article.text, ev.start, ev.end) == paragraph(
                article.text, later[0].start, later[0].end) and \
                (later[0].passage, later[0].start) not in seen:
            out.append(later[0])
            seen.add((later[0].passage, later[0].start))
    return out


def _best_entity(asked: Asked, doc, asked_words: set[str], role: str = ""):
    """The entity of the asked type the sentence offers, not one the question names and
    tied to the question's words in the parse (at most ``TIE`` dependency edges from
    one): for a count, one that counts the asked noun ("70 ... planes"); for an amount,
    in a sentence that names what is measured ("profit"); for "who", not the speaker of
    a quotation ("..., said analyst X"). Of several, the one nearest the question's words.
    """
    stems = [stem(t.lower_) for t in doc]
    if asked.measure and asked.measure not in stems:
        return None
    anchors = [t for t, st in zip(doc, stems, strict=True) if st in asked_words]
    speakers = _speech_parties(doc) if asked.kind == "who" and not asked.about_speech \
        else set()
    # "Who sold X?": where the sentence has the verb, the answer is who did it (its
    # subject, or the agent of a passive), not whom it was done to.
    doers = _doers(doc, role) if role else None
    found = []
    for e in doc.ents:
        if e.label_ not in asked.labels or {stem(w) for w in words(e.text)} <= asked_words:
            continue
        # An entity the question names in part ("Sergey Lavrov" after "Lavrov").
        if e.label_ in ("PERSON", "ORG", "GPE") and any(
                stem(t.lower_) in asked_words for t in e if t.text[:1].isupper()):
            continue
        if e.label_ == "DATE" and not _is_date(e):
            continue
        if asked.counted and not any(stems[t.i] == asked.counted
                                     for t in (e.root.head, *doc[e.end:e.end + 6])):
            continue
        if speakers & {t.i for t in e}:
            continue
        if doers is not None and e.root.i not in doers:
            continue
        hops = min((_hops(e.root, a) for a in anchors), default=TIE)
        if hops <= TIE:
            # A place is a place first; an organisation's site ("the White House") next.
            second = asked.kind == "where" and e.label_ == "ORG"
            found.append((second, hops, min((abs(e.start - a.i) for a in anchors),
                                            default=0), e))
    if not found and asked.kind == "when":
        # A year inside another entity ("the Teaching Council Act 2001").
        years = [doc[t.i:t.i + 1] for t in doc if t.text.isdigit() and len(t.text) == 4
                 and 1000 <= int(t.text) <= 2100 and stem(t.text) not in asked_words]
        found = [(False, min((_hops(y.root, a) for a in anchors), default=0), 0, y)
                 for y in years]
        found = [f for f in found if f[1] <= TIE]
    return min(found, key=lambda f: f[:3])[3] if found else None


TIE = 4


def _hops(a, b) -> int:
    """Dependency edges between two tokens of a parsed sentence."""
    up = {}
    t, n = a, 0
    while True:
        up[t.i] = n
        if t.head.i == t.i:
            break
        t, n = t.head, n + 1
    t, n = b, 0
    while t.i not in up:
        if t.head.i == t.i:
            return 99
        t, n = t.head, n + 1
    return n + up[t.i]


def _is_date(ent) -> bool:
    """A date says when: a month or day name, a year, or a word of time ("last year"),
    not a bare small number ("aged 44")."""
    return any(t.is_alpha for t in ent) or any(len(t.text) == 4 and t.text.isdigit()
                                               for t in ent)


def _speech_parties(doc) -> set[int]:
    """Token positions of who speaks and who is spoken to in the sentence's reporting
    clauses ("..., analyst X told Reuters"): the parties to a quotation, not its content."""
    out = set()
    for t in doc:
        if t.lemma_ in SPEECH_VERBS:
            for c in t.children:
                if c.dep_ in ("nsubj", "nsubjpass", "dobj", "dative", "npadvmod"):
                    out |= {w.i for w in c.subtree}
                elif c.dep_ == "prep":
                    out |= {w.i for g in c.children if g.dep_ == "pobj" for w in g.subtree}
    return out


def _doers(doc, verb: str) -> set[int] | None:
    """Positions of the tokens that did ``verb`` (a lemma) in the sentence: the subject of
    an active use, the agent ("by X") of a passive one; None when the verb is not there."""
    uses = [t for t in doc if t.pos_ in ("VERB", "AUX") and t.lemma_ == verb]
    if not uses:
        return None
    out = set()
    for t in uses:
        for c in t.children:
            if c.dep_ == "nsubj":
                out |= {w.i for w in c.subtree}
            elif c.dep_ == "agent":
                out |= {w.i for g in c.children for w in g.subtree}
    return out


# -- what X said -----------------------------------------------------------------------


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
    pool: dict[int, Evidence] = {}
    for ev in evidence:
        if passages[ev.passage].article.id == article.id:
            pool.setdefault(ev.start, ev)
    sentences = list(pool.values())
    if lede:
        first = min(sentences, key=lambda ev: ev.start)
        chosen = [first]
    else:
        chosen = [sentences[0]]
    rest = [ev for ev in sentences if ev is not chosen[0]]
    top = max(ev.score for ev in sentences)
    while rest and len(chosen) < count:
        def mmr(ev):
            v = vectors.get((article.id, ev.start))
            like = max((float(v @ vectors[(article.id, c.start)]) for c in chosen
                        if v is not None and (article.id, c.start) in vectors), default=0.0)
            return balance * ev.score / (top or 1.0) - (1 - balance) * like
        best = max(rest, key=mmr)
        chosen.append(best)
        rest.remove(best)
    chosen.sort(key=lambda ev: ev.start)
    citations, parts = [], []
    for ev in chosen:
        s, e = extend_quote(article.text, ev.start, ev.end)
        if citations and s < citations[-1].end:
            continue
        c = citation(len(citations) + 1, passages[ev.passage], s, e)
        citations.append(c)
        parts.append(f"{' '.join(c.quote.split())} [{c.n}]")
    return Shaped(Verified("\n".join(f"- {p}" for p in parts), tuple(citations)))


# -- shared ----------------------------------------------------------------------------


def shape(asked: Asked, question: str, evidence: Sequence[Evidence],
          passages: Sequence[Passage], vectors: dict[tuple[str, int], np.ndarray],
          follow_up: bool = False) -> Shaped | None:
    """The answer of the asked kind, or None when the articles hold no such answer (for
    ``other`` questions the caller answers as before)."""
    if asked.kind in TYPED:
        return typed(asked, question, evidence, passages, follow_up=follow_up)
    if asked.kind == "quote":
        return quotes(asked, evidence, passages)
    if asked.kind in ("why", "overview"):
        return coverage(evidence, passages, vectors, 3)
    if asked.kind == "summary":
        return coverage(evidence, passages, vectors, 4, lede=True)
    return None
