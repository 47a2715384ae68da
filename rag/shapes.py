"""An answer shaped for the kind of question, built from whole source sentences.

- who / when / where / how many / how much: the typed span first (an entity of the asked
  type, verbatim from the sentence), then the sentence it came from;
- "What did X say (about Y)?": X's own statements, closest to Y first chosen, up to three;
- why / overview: two to five sentences of the best article chosen for coverage
  (maximal marginal relevance), in the article's order;
- summary: the best article's lede, then a sentence from each stretch of the rest, so
  the summary tells the whole story, one cited sentence a line.

Every candidate must keep the question's specifics (``questions.Specific``) in its
paragraph, and a typed answer needs an entity of the asked type that the question does not
already name: otherwise there is no answer of that kind, and the caller refuses. The
entity must be said of the question: tied to its words in the parse; a date within
``ACTION_TIE`` edges of the question's own verb where the sentence has it, in a sentence
holding that verb or its subject or object; a place as the object of a preposition of
place ("in Tokyo"), not one that only describes a noun ("US investors") or that the
question names by its people ("Japanese"); for "how much per share", given per share; for
"who sold", the seller (a noun phrase when no one is named: "A US woman"). A sentence with
none of the question's words answers only when it goes on about the sentence before it (a
pronoun subject) or the follow-up refers to it. Who said what is ``speech.py``'s, who
did what ``doers.py``'s; the spans both quote are ``spans.py``'s; the entities a sentence
offers, ``entities.py``'s; which one of a numbered series, ``instances.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import nlp
from .doers import does, hops, speech_parties, unnamed_doer
from .entities import answer_entities, is_date, names_grain, whole_amount
from .grounding import Evidence, Verified, citation
from .instances import numbered, said_of_another
from .questions import TYPED, Asked
from .spans import Shaped, extend_quote, holds, neighbourhood, paragraph, quoted, ranked_sentences
from .speech import quotes
from .text import STOPWORDS, content_stems, stem, words
from .types import Passage

# How far below the best sentence a sentence may score and still be used.
TYPED_MARGIN = 0.45


def _scope(passages: Sequence[Passage], ev: Evidence) -> str:
    """Where a typed answer's specifics must be (``spans.neighbourhood``)."""
    return neighbourhood(passages[ev.passage], ev.start, ev.end)


def typed(asked: Asked, question: str, evidence: Sequence[Evidence],
          passages: Sequence[Passage], limit: int = 8, follow_up: bool = False,
          shown: tuple[str, int, int] | None = None) -> Shaped | None:
    """The best sentence holding an entity of the asked type that the question does not
    name, with the question's specifics in its paragraph; the entity is the span. For a
    follow-up, sentences holding more of its own words ("And when did he resign?") come
    first: the words it shares with the question before it say little; of as many, for a
    follow-up about what the last answer showed ("Which outlet did he say it to?"), the
    sentence that answer cited first (``shown``: (article id, start, end) of it)."""
    own = set(asked.own_words)
    ranked = [ev for ev in ranked_sentences(evidence, TYPED_MARGIN)
              if holds(asked, _scope(passages, ev), ev.text)][:limit]
    candidates = [ev for ev in _with_next(ranked, evidence, passages, action=asked.action)
                  if holds(asked, _scope(passages, ev), ev.text)]
    if asked.subject_of and ranked:
        # Who did it may be named by the verb's agent noun far below the best sentence
        # ("Who sold the Savoy?" - "The seller - Quinlan Private - bought ...").
        agents = {stem(asked.subject_of + x) for x in ("er", "r", "or")}
        best = passages[ranked[0].passage].article.id
        have = {(ev.passage, ev.start) for ev in candidates}
        candidates += [ev for ev in evidence if passages[ev.passage].article.id == best
                       and (ev.passage, ev.start) not in have
                       and agents & {stem(w) for w in words(ev.text)}
                       and holds(asked, _scope(passages, ev), ev.text)]
    first: list[Evidence] = []  # the sentences of the citation a follow-up refers to
    if shown:
        aid, start, end = shown
        first = sorted((ev for ev in evidence if passages[ev.passage].article.id == aid
                        and start <= ev.start < end), key=lambda ev: ev.start)
        candidates = first + [ev for ev in candidates if ev not in first]
    if follow_up and own:
        # The sentences holding more of the follow-up's own words first; of as many, the
        # one the last answer showed.
        candidates.sort(key=lambda ev: -len(own & {stem(w) for w in words(ev.text)}))
    if not candidates:
        return None
    asked_words = {stem(w) for w in words(question) if w not in STOPWORDS}
    # A follow-up's "he" is one of the question's words too ("When does he take over?"),
    # and so is the sentence's "he" or "she" for the person the question calls so ("How
    # old will she be at the Games?" - "... the Games in March, when she will be 34").
    asked_words |= {stem(k.lower()) for s in asked.specifics if s.near for k in s.keys()}
    asked_words |= {"he", "she"} & set(words(question))
    docs = nlp.parse([ev.text for ev in candidates])
    series = numbered(question)
    found = []
    for ev, doc in zip(candidates, docs, strict=True):
        span = _best_entity(asked, doc, asked_words, asked.subject_of,
                            referred=any(ev is x for x in first), series=series)
        if span is not None:
            acts = asked.kind == "where" and any(_acts(t, asked.action) for t in doc)
            found.append((ev, span, acts or does(doc, asked.subject_of) is not None))
    if not found:
        return None
    # "Who sold X?": a sentence of the same story that says who sold ("The seller -
    # Quinlan Private -") before one that only names someone near the question's words;
    # likewise for where, a sentence with the question's verb ("Where did X tell
    # investors ...?": "X told the conference in Chicago").
    story = passages[found[0][0].passage].article.id
    ev, span, _ = next((f for f in found if f[2] and
                        passages[f[0].passage].article.id == story), found[0])
    quote = extend_quote(passages[ev.passage].article.text, ev.start, ev.end)
    c = citation(1, passages[ev.passage], *quote)
    answer = whole_amount(span)
    text = f"{answer} \u2014 {quoted(c.quote)} [1]"
    return Shaped(Verified(text, (c,)), answer)


def _with_next(ranked: list[Evidence], evidence: Sequence[Evidence],
               passages: Sequence[Passage], first: int = 3, action: str = ""
               ) -> list[Evidence]:
    """``ranked``, each of its ``first`` sentences (and each that holds the question's
    verb, ``action``, as a stem) followed by the next sentence of its paragraph: a story
    often names the thing asked about in one sentence and gives the answer in the next
    ("X left the company. Y will take on the role.", "... a series of arrests. He was
    taken away ... in Tokyo.")."""
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
        if k >= first and not (action and stem(action) in {stem(w) for w in words(ev.text)}):
            continue
        article = passages[ev.passage].article
        later = [x for x in by_article[article.id] if x.start >= ev.end]
        if later and paragraph(article.text, ev.start, ev.end) == paragraph(
                article.text, later[0].start, later[0].end) and \
                (later[0].passage, later[0].start) not in seen:
            out.append(later[0])
            seen.add((later[0].passage, later[0].start))
    return out


def _best_entity(asked: Asked, doc, asked_words: set[str], role: str = "",
                 referred: bool = False, series: set = frozenset()):
    """The entity of the asked type the sentence offers, not one the question names and
    tied to the question's words in the parse (at most ``TIE`` dependency edges from
    one): for a count, one that counts the asked noun ("70 ... planes"); for an amount,
    in a sentence that names what is measured ("profit"); for "who", not the speaker of
    a quotation ("..., said analyst X"). Of several, the one nearest the question's words.
    A sentence with none of the question's words may answer only when it goes on about
    the one before it, or the question refers to it (``referred``: "Which outlet did he
    say it to?" of the statement just shown; then no tie to the question's words is
    needed either). Not one said of another of a numbered series the question names
    (``series``: "Super Bowl XX" when "Super Bowl 50" is asked; ``instances.py``).
    """
    stems = [stem(t.lower_) for t in doc]
    if asked.measure and asked.measure not in stems:
        return None
    anchors = [t for t, st in zip(doc, stems, strict=True) if st in asked_words]
    # The person the question names may be "he" or "she" later in the sentence that names
    # them ("Hansen can make it back ..., when she will be 34").
    persons = asked.persons()
    named = [t.i for t in anchors if stem(t.lower_) in persons]
    anchors += [t for t in doc if named and t.i > named[0] and t.lower_ in ("he", "she")]
    if not anchors and not referred and not _continues(doc):
        return None  # none of the question's words, and not about the sentence before
    speakers = speech_parties(doc) if asked.kind == "who" and not asked.about_speech \
        else set()
    # "Who sold X?": where the sentence has the verb, the answer is who did it (its
    # subject, or the agent of a passive), not whom it was done to.
    doers = does(doc, role) if role else None
    # "When will the album be released?": where the sentence has the question's verb (or
    # its noun, "the releases"), the date is said of it, not of another clause.
    acts = [t for t in doc if _acts(t, asked.action)]
    if asked.kind == "when" and not acts and asked.parties and \
            not set(asked.parties) & set(stems):
        return None  # not what was done, nor who did it or to what: a date of another thing
    found = []
    for e in answer_entities(doc):
        if e.label_ not in asked.labels or set(content_stems(e.text)) <= asked_words:
            continue
        if asked.kind == "where" and (_named_by_people(e.text, asked.peoples) or
                                      _modifier(e, asked.wh == "where")):
            continue
        if asked.kind == "when" and acts and min(hops(e.root, a) for a in acts) > ACTION_TIE:
            continue
        if asked.per and not _per_unit(doc, e, asked.per):
            continue
        # An entity the question names in part ("Sergey Lavrov" after "Lavrov").
        if e.label_ in ("PERSON", "ORG", "GPE") and any(
                stem(t.lower_) in asked_words for t in e if t.text[:1].isupper()):
            continue
        if e.label_ == "DATE" and not is_date(e):
            continue
        if asked.grain and not names_grain(e, asked.grain):
            continue
        if asked.counted and not _counts(e, stems, asked.counted):
            continue
        if speakers & {t.i for t in e}:
            continue
        if said_of_another(e, series):
            continue
        if doers is not None and not any(t.i in doers for t in e):
            continue
        # Who did the question's verb is tied to it by doing it.
        edges = 0 if doers else min((hops(e.root, a) for a in anchors), default=TIE)
        if edges <= TIE or referred:
            # A place is a place first; an organisation's site ("the White House") next;
            # for "Which country / city ...?", a country or city first ("New Orleans",
            # not "Super Bowl XLIV"), a building or region in one next.
            second = asked.kind == "where" and (
                e.label_ == "ORG" or asked.grain in POLITIES and e.label_ != "GPE")
            found.append((second, edges, min((abs(e.start - a.i) for a in anchors),
                                            default=0), e))
    if not found and asked.kind == "when" and asked.grain != "month":
        # A year inside another entity ("the Teaching Council Act 2001").
        years = [doc[t.i:t.i + 1] for t in doc if t.text.isdigit() and len(t.text) == 4
                 and 1000 <= int(t.text) <= 2100 and stem(t.text) not in asked_words]
        found = [(False, min((hops(y.root, a) for a in anchors), default=0), 0, y)
                 for y in years]
        found = [f for f in found if f[1] <= TIE]
    if not found and doers and asked.kind == "who":
        return unnamed_doer(doc, role, asked_words)
    return min(found, key=lambda f: f[:3])[3] if found else None


def _counts(ent, stems: list[str], noun: str) -> bool:
    """Whether a number counts ``noun`` (a stem): the noun it modifies ("70 ... planes"),
    one of the six words after it, or the noun it is given with ("interceptions with
    24")."""
    root = ent.root
    near = [root.head, *ent.doc[ent.end:ent.end + 6]]
    if root.dep_ == "pobj":
        near.append(root.head.head)
    return any(stems[t.i] == noun for t in near)


TIE = 4
POLITIES = frozenset("country city town state capital nation".split())
ACTION_TIE = 3


def _acts(token, action: str) -> bool:
    """Whether a token is the question's verb, as a verb or a noun ("told" for "tell",
    "arrests" for "arrest")."""
    return bool(action) and (token.lemma_.lower() == action or
                             stem(token.lower_) == stem(action))


def _continues(doc) -> bool:
    """Whether a sentence goes on about what the one before it named: a pronoun as its
    subject or its subject's owner ("He was taken away ...", "Its shares ..."; not
    "owners at their meetings", whose "their" is the sentence's own owners)."""
    return any(t.pos_ == "PRON" and t.lower_ in ("he", "she", "it", "they", "his", "her",
                                                  "its", "their") and
               (t.dep_ in ("nsubj", "nsubjpass") or t.dep_ == "poss" and
                t.head.dep_ in ("nsubj", "nsubjpass")) for t in doc)


def _named_by_people(place: str, peoples: tuple[str, ...]) -> bool:
    """Whether the question names the place by its people's word: "Japanese" names
    Japan, "British" Britain (the same first four letters)."""
    low = place.lower()
    return any(len(low) >= 4 and p[:4] == low[:4] for p in peoples)


def _modifier(ent, where: bool) -> bool:
    """A place that only describes a noun ("US investors", "Japan's banks") says what
    kind of thing it is; asked "Where ...?", a place that is not the object of a
    preposition of place ("at the White House", "in Tokyo") says what a clause is about
    ("it was Moscow that ...", "Windows-based players", "such as X"), not where
    something happened ("Which country faced an embargo?" may be answered by a
    subject)."""
    dep = ent.root.dep_
    if dep in ("compound", "amod", "poss") and ent.root.head.pos_ in ("NOUN", "PROPN"):
        return True
    if not where:
        return False
    t = ent.root  # "in London and Paris", "in the capital, Kiev": up to the preposition
    while t.dep_ in ("conj", "appos", "compound") and t.head.i != t.i:
        t = t.head
    return t.dep_ != "pobj" or t.head.lower_ not in _AT


# Prepositions that say where ("such as X", "with X" do not).
_AT = frozenset("in at on near outside inside from across throughout within around into "
                "onto off beside behind along to toward towards between among of".split())


def _per_unit(doc, ent, unit: str) -> bool:
    """Whether an amount is given per ``unit`` (a stem): "$17 a share", "$2 per share",
    "200p-a-share", or as what the unit itself costs ("Tickets cost 120 euros": the unit
    is the subject of the verb the amount is the object of)."""
    after = [stem(t.lower_) for t in doc[ent.end:ent.end + 3]]
    if any(a in ("per", "a", "an", "each") and b == unit
           for a, b in zip(after, after[1:], strict=False)):
        return True
    verb = ent.root.head
    return ent.root.dep_ in ("dobj", "attr", "npadvmod") and any(
        c.dep_ in ("nsubj", "nsubjpass") and stem(c.lower_) == unit for c in verb.children)


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
          balance: float = 0.7) -> Shaped | None:
    """A summary of the best article: its lede, then one sentence from each of ``count -
    1`` equal stretches of the rest of the story, in order, so it tells the beginning,
    the middle and the end; in each stretch the sentence of maximal marginal relevance
    (relevance to the question, the story's title, against likeness to those already
    chosen). Crossheads and captions (fewer than ``STATEMENT_WORDS`` words, no full
    stop) are not chosen. By relevance alone the first four sentences came from the
    opening paragraphs, which are most like the title."""
    if not evidence:
        return None
    article = passages[evidence[0].passage].article
    sentences = sorted(_sentences_of(article.id, evidence, passages), key=lambda ev: ev.start)
    statements = [ev for ev in sentences if _statement(ev.text)]
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


STATEMENT_WORDS = 6


def _statement(text: str) -> bool:
    """Whether a sentence says something: enough words and a full stop (not a crosshead
    such as "The Crimea issue")."""
    text = text.strip()
    return len(text.split()) >= STATEMENT_WORDS and text.endswith(
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


# -- shared ----------------------------------------------------------------------------


def shape(asked: Asked, question: str, evidence: Sequence[Evidence],
          passages: Sequence[Passage], vectors: dict[tuple[str, int], np.ndarray],
          follow_up: bool = False, shown: tuple[str, int, int] | None = None
          ) -> Shaped | None:
    """The answer of the asked kind, or None when the articles hold no such answer (for
    ``other`` questions the caller answers as before)."""
    if asked.kind in TYPED:
        return typed(asked, question, evidence, passages, follow_up=follow_up, shown=shown)
    if asked.kind == "quote":
        return quotes(asked, evidence, passages)
    if asked.kind in ("why", "overview"):
        return coverage(evidence, passages, vectors, 3)
    if asked.kind == "summary":
        return story(evidence, passages, vectors, 4)
    return None
