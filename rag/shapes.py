"""An answer shaped for the kind of question, built from whole source sentences.

- who / when / where / how many / how much: the typed span first (an entity of the asked
  type, verbatim from the sentence), then the sentence it came from;
- "What did X say (about Y)?": X's own statements, closest to Y first chosen, up to three;
- why / overview / summary: two to five sentences of the best article chosen for coverage
  (maximal marginal relevance), in the article's order.

Every candidate must keep the question's specifics (``questions.Specific``) in its
paragraph, and a typed answer needs an entity of the asked type that the question does not
already name: otherwise there is no answer of that kind, and the caller refuses.

Names are matched by one rule: a person is their surname as a whole word ("Mr Brown",
"Gordon Brown" and "Brown" all match "Brown"); a statement whose subject is "he" or "she"
belongs to the person named last before it in the same article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import nlp
from .grounding import Evidence, Verified, citation
from .questions import SPEECH_VERBS, TYPED, Asked
from .text import STOPWORDS, stem, words
from .types import Passage

# How far below the best sentence a sentence may score and still be used.
TYPED_MARGIN = 0.45
QUOTE_MARGIN = 0.3
OPEN_QUOTES = "\u201c\""
_PRONOUNS = frozenset({"he", "she"})


@dataclass(frozen=True)
class Shaped:
    verified: Verified
    span: str | None = None


def paragraph(text: str, start: int, end: int) -> tuple[int, int]:
    """The blank-line block of ``text`` that holds ``start..end``."""
    before = text.rfind("\n\n", 0, start)
    after = text.find("\n\n", end)
    return (0 if before < 0 else before + 2), (len(text) if after < 0 else after)


_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")


def holds(asked: Asked, scope: str, near: str | None = None) -> bool:
    """Whether ``scope`` holds every specific the question names: a number as written
    ("11.5bn", "2004"); a word as a word of the same stem ("Grammys", "Grammy"), or, for
    a name of six letters or more, one letter apart ("ARPNET", "ARPANET")."""
    found = {w.lower() for w in _TOKEN.findall(scope)}
    stems = {stem(w) for w in found}
    close = {w.lower() for w in _TOKEN.findall(near)} if near is not None else found
    for specific in asked.specifics:
        if specific.near and not all(k.lower() in close for k in specific.keys()):
            return False
        for key in specific.keys():
            for k in _TOKEN.findall(key):
                k = k.lower()
                if k in found or (not k[:1].isdigit() and (stem(k) in stems or (
                        len(k) >= 6 and any(_one_apart(k, w) for w in found)))):
                    continue
                return False
    return True


def _one_apart(a: str, b: str) -> bool:
    """Whether two words differ by one inserted, deleted or changed letter."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _scope(passages: Sequence[Passage], ev: Evidence) -> str:
    """Where a typed answer's specifics must be: the sentence's paragraph, or the
    article's title and first paragraph (a news story names its subject there once)."""
    text = passages[ev.passage].article.text
    s, e = paragraph(text, ev.start, ev.end)
    _, lede_end = paragraph(text, 0, 0)
    return f"{passages[ev.passage].article.title}\n{text[:lede_end]}\n{text[s:e]}"


def _ranked(evidence: Sequence[Evidence], margin: float) -> list[Evidence]:
    """The sentences within ``margin`` of the best, best first, each once."""
    if not evidence:
        return []
    best = evidence[0].score
    seen, out = set(), []
    for ev in evidence:
        if ev.score < best - margin:
            break
        if (ev.passage, ev.start) in seen or (ev.text, ev.start) in seen:
            continue
        seen.add((ev.text, ev.start))
        out.append(ev)
    return out


# -- typed answers ---------------------------------------------------------------------

def typed(asked: Asked, question: str, evidence: Sequence[Evidence],
          passages: Sequence[Passage], limit: int = 8, follow_up: bool = False
          ) -> Shaped | None:
    """The best sentence holding an entity of the asked type that the question does not
    name, with the question's specifics in its paragraph; the entity is the span. For a
    follow-up, sentences holding one of its own words ("And when did he resign?") come
    first: the words it shares with the question before it say little."""
    own = set(asked.own_words)
    candidates = [ev for ev in _with_next(_ranked(evidence, TYPED_MARGIN), evidence,
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
        text = f"{span.text} \u2014 {_quoted(c.quote)} [1]"
        return Shaped(Verified(text, (c,)), span.text)
    return None


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

def speaker_of(sent, last_named: str) -> tuple[str, bool] | None:
    """(who speaks, whether named here) in a parsed sentence with a reporting verb:
    the verb's subject ("Lavrov said"), "according to X", or, for "he"/"she", the person
    named last before it."""
    for t in sent:
        if t.lower_ == "according" and t.i + 1 < len(sent) and sent[t.i + 1].lower_ == "to":
            target = next((c for c in sent[t.i + 1].children if c.dep_ == "pobj"), None)
            if target is not None:
                return " ".join(w.text for w in target.subtree), True
        if t.pos_ in ("VERB", "AUX") and t.lemma_ in SPEECH_VERBS:
            subject = next((c for c in t.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if subject is None:
                continue
            if subject.lower_ in _PRONOUNS:
                return (last_named, False) if last_named else None
            return " ".join(w.text for w in subject.subtree), True
    return None


def quotes(asked: Asked, evidence: Sequence[Evidence], passages: Sequence[Passage],
           most: int = 3) -> Shaped | None:
    """Up to ``most`` statements of the asked speaker, closest to the question first
    chosen, shown in the article's order, each cited; None when the articles hold none."""
    if not asked.speaker_names and not asked.speaker_roles:
        return None
    ranked = _ranked(evidence, QUOTE_MARGIN)
    articles: list[str] = []
    for ev in ranked:
        aid = passages[ev.passage].article.id
        if aid not in articles:
            articles.append(aid)
    chosen: list[tuple[float, int, int, Passage]] = []
    for aid in articles[:2]:
        said = statements(asked, [ev for ev in evidence if passages[ev.passage].article.id
                                  == aid], passages)
        for ev, (s, e) in said:
            # A statement scores as its best sentence (a quotation may span several).
            score = max(x.score for x in evidence if passages[x.passage].article.id == aid
                        and (x is ev or s <= x.start < e))
            # The question's specifics anywhere in the article: what a speaker said about
            # Y is often one paragraph away from where Y is named.
            if score >= ranked[-1].score and holds(asked, passages[ev.passage].article.text):
                chosen.append((score, s, e, passages[ev.passage]))
        if chosen:
            break
    if not chosen:
        return None
    chosen.sort(key=lambda x: -x[0])
    best = chosen[0][0]
    kept = [c for c in chosen if c[0] >= best - QUOTE_MARGIN / 2][:most]
    # The speaker's own words first (a quotation of five words or more), then what they
    # were reported to say; each group closest to the question first.
    kept.sort(key=lambda x: (not _direct(x[3].article.text[x[1]:x[2]]), -x[0]))
    citations, parts, seen = [], [], set()
    for _, s, e, p in kept:
        if any(s < e2 and s2 < e for s2, e2 in seen):
            continue
        seen.add((s, e))
        c = citation(len(citations) + 1, p, s, e)
        citations.append(c)
        parts.append(f"{_quoted(c.quote)} [{c.n}]")
    return Shaped(Verified(" ".join(parts), tuple(citations)))


_QUOTATION = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")


def _direct(text: str) -> bool:
    """Whether the text quotes someone's own words (five words or more in marks)."""
    return any(len(q.split()) >= 5 for q in _QUOTATION.findall(text))


def statements(asked: Asked, evidence: Sequence[Evidence], passages: Sequence[Passage]
               ) -> list[tuple[Evidence, tuple[int, int]]]:
    """The sentences of one article attributed to the asked speaker, with the span to
    quote (a quotation that runs on is followed to its closing mark)."""
    if not evidence:
        return []
    article = passages[evidence[0].passage].article
    text = article.text
    by_start = {}
    for ev in evidence:
        by_start.setdefault(ev.start, ev)
    ordered = [by_start[s] for s in sorted(by_start)]
    docs = dict(zip((ev.start for ev in ordered), nlp.parse([ev.text for ev in ordered]),
                    strict=True))
    out, last_named, speaker_here = [], "", None
    roles = set(asked.speaker_roles)
    names = set(asked.speaker_names)
    for ev in ordered:
        doc = docs[ev.start]
        found = speaker_of(doc, last_named) if _may_attribute(ev.text) else None
        last_named = _subject_person(doc) or last_named
        if found is not None:
            who, named = found
            if roles and named and roles <= {w.lower() for w in who.split()}:
                names |= {w for w in who.split() if w[:1].isupper()
                          and w.lower() not in STOPWORDS}  # "chief executive Peter Brabeck"
            speaker_here = who
            if _matches(who, names, roles):
                out.append((ev, extend_quote(text, ev.start, ev.end)))
            continue
        # A quotation with no reporting verb continues the speaker of the sentence before
        # it in the same paragraph.
        if speaker_here and ev.text.lstrip()[:1] in OPEN_QUOTES and out and \
                paragraph(text, ev.start, ev.end) == paragraph(text, *out[-1][1]) and \
                _matches(speaker_here, names, roles):
            out.append((ev, extend_quote(text, ev.start, ev.end)))
        else:
            speaker_here = None
    return out


def _subject_person(doc) -> str:
    """The person a sentence is about: a named person as its subject (a name in a
    by-phrase or an object does not change whom a later "he" or "she" refers to)."""
    for e in doc.ents:
        if e.label_ == "PERSON" and any(t.dep_ in ("nsubj", "nsubjpass") or
                                        t.head.dep_ in ("nsubj", "nsubjpass", "appos")
                                        for t in e):
            return e.text
    return ""


def _may_attribute(sentence: str) -> bool:
    """A cheap test before parsing: a quotation mark or a reporting verb's usual forms."""
    low = sentence.lower()
    return any(q in sentence for q in "\u201c\u201d\"") or "according to" in low or any(
        re.search(rf"\b{v}(?:s|ed|d)?\b", low) for v in ("said", "say", "told", "tell",
                                                          "add", "warn", "argu", "claim",
                                                          "insist", "explain", "describ"))


def _matches(who: str, names: set[str], roles: set[str]) -> bool:
    tokens = set(re.findall(r"[\w-]+", who))
    if names:
        return bool(names & tokens)
    return bool(roles) and roles <= {t.lower() for t in tokens}


# -- why, overview, summary ------------------------------------------------------------

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

def extend_quote(text: str, start: int, end: int, reach: int = 600) -> tuple[int, int]:
    """``start..end`` widened, within its paragraph and ``reach`` characters, to the
    quotation marks around it: a sentence that ends a quotation begun a sentence earlier
    starts at its opening mark, one that opens a quotation runs to its closing mark and
    the end of that sentence ('..." he said.'), so no quote is cut off."""
    ps, pe = paragraph(text, start, end)

    def inside(pos: int) -> str | None:
        """The mark of the quotation ``pos`` is inside, if any."""
        seg = text[ps:pos]
        if seg.count("\u201c") > seg.count("\u201d"):
            return "\u201c"
        if seg.count('"') % 2:
            return '"'
        return None

    mark = inside(start)
    if mark is not None:
        at = text.rfind(mark, max(ps, start - reach), start)
        if at >= 0:
            start = at
    mark = inside(end)
    if mark is not None:
        closer = "\u201d" if mark == "\u201c" else '"'
        at = text.find(closer, end, min(pe, end + reach))
        if at >= 0:
            end = at + 1
            tail = re.search(r"[.!?](?=\s|$)", text[end:min(pe, end + 200)])
            if tail is not None:
                end += tail.end()
    return start, end


def _quoted(quote: str) -> str:
    """A source sentence shown as a quotation: in marks unless it has its own."""
    quote = " ".join(quote.split())
    return quote if any(m in quote for m in '"\u201c\u201d') else f"\u201c{quote}\u201d"


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
