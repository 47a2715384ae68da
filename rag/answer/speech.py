"""Who said what: a sentence's speaker from its reporting verb, and a speaker's own
statements in an article (``quotes``, the answer to "What did X say (about Y)?").

Names are matched by one rule: a person is their surname as a whole word ("Mr Brown",
"Gordon Brown" and "Brown" all match "Brown"); a statement whose subject is "he" or "she"
belongs to the person the sentence just before it is about (its speaker, else a person
named as its subject, else the only person it names: "But that was not enough for Mr Sarkozy. 'If
...,' he said."), else to the person last named as the subject of a sentence before it in
the article; a quotation with no reporting verb continues the speaker of the sentence
before it in its paragraph.

A quotation attributed through "he said", or continuing one, is as close to the question
as the sentence that named its speaker, less a little (``IMPLIED_SHARE`` of the margin, so
that a statement naming the speaker itself comes first at equal scores): the speaker's own
words rarely repeat what the question asks about ("What did Sarkozy say about the
dollar?" - "Sarkozy said the decline of the dollar would hit exports. 'We are concerned
...,' he said.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from rag.answer import parser as nlp
from rag.answer.citations import Evidence, Verified, citation
from rag.answer.questions import Asked
from rag.answer.spans import (
    Shaped,
    extend_quote,
    holds,
    neighbourhood,
    paragraph,
    quoted,
    ranked_sentences,
)
from rag.config import Settings
from rag.lexicon import PERSON_PRONOUNS, REPORTING_STEMS, REPORTING_VERBS, STOPWORDS
from rag.text import stem, words
from rag.types import Passage

#: "..., he said." ranks this share of the quote margin below where he was named.
IMPLIED_SHARE = 0.25
OPEN_QUOTES = "\u201c\""


def speaker_of(sent, last_named: str) -> tuple[str, bool] | None:
    """(who speaks, whether named here) in a parsed sentence with a reporting verb:
    the verb's subject ("Lavrov said"), "according to X", or, for "he"/"she", the person
    named last before it."""
    for t in sent:
        if t.lower_ == "according" and t.i + 1 < len(sent) and sent[t.i + 1].lower_ == "to":
            target = next((c for c in sent[t.i + 1].children if c.dep_ == "pobj"), None)
            if target is not None:
                return " ".join(w.text for w in target.subtree), True
        if t.pos_ in ("VERB", "AUX") and t.lemma_ in REPORTING_VERBS:
            subject = next((c for c in t.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if subject is None:
                continue
            if subject.lower_ in PERSON_PRONOUNS:
                return (last_named, False) if last_named else None
            return " ".join(w.text for w in subject.subtree), True
    return None


def quotes(asked: Asked, evidence: Sequence[Evidence], passages: Sequence[Passage],
           most: int = 3, margin: float = Settings.quote_margin) -> Shaped | None:
    """Up to ``most`` statements of the asked speaker, the closest to the question, each
    cited: their own quoted words first, then reported speech; None when the articles
    hold none."""
    if not asked.speaker_names and not asked.speaker_roles:
        return None
    ranked = ranked_sentences(evidence, margin)
    articles: list[str] = []
    for ev in ranked:
        aid = passages[ev.passage].article.id
        if aid not in articles:
            articles.append(aid)
    chosen: list[_Chosen] = []
    for aid in articles[:2]:
        mine = [ev for ev in evidence if passages[ev.passage].article.id == aid]
        # The question's specifics anywhere in the article: what a speaker said about Y
        # is often one paragraph away from where Y is named.
        if not holds(asked, passages[mine[0].passage].article.text):
            continue
        for ev, (s, e), context in statements(asked, mine, passages):
            if not _about_held(asked, passages[ev.passage], s, e):
                continue
            # A statement scores as its best sentence (a quotation may span several), or
            # as the sentence that named its speaker when it only says "he said".
            own = max(x.score for x in mine if x is ev or s <= x.start < e)
            score = max(context - margin * IMPLIED_SHARE, own)
            if score >= ranked[0].score - margin:
                chosen.append(_Chosen(score, own, s, e, passages[ev.passage]))
        if chosen:
            break
    if not chosen:
        return None
    chosen.sort(key=lambda c: (-c.score, -c.own))
    best = chosen[0].score
    kept = [c for c in chosen if c.score >= best - margin / 2][:most]
    # The speaker's own words first (a quotation of five words or more), then what they
    # were reported to say; each group closest to the question first (by its own words).
    kept.sort(key=lambda c: (not _direct(c.passage.article.text[c.start:c.end]), -c.own))
    citations, parts, seen = [], [], set()
    for _, _, s, e, p in kept:
        if any(s < e2 and s2 < e for s2, e2 in seen):
            continue
        seen.add((s, e))
        c = citation(len(citations) + 1, p, s, e)
        citations.append(c)
        parts.append(f"{quoted(c.quote)} [{c.n}]")
    return Shaped(Verified(" ".join(parts), tuple(citations)))


class _Chosen(NamedTuple):
    """A statement chosen to answer: its score (or that of where its speaker was named),
    its own sentences' score, its span and passage."""

    score: float
    own: float
    start: int
    end: int
    passage: Passage


def _about_held(asked: Asked, passage: Passage, start: int, end: int) -> bool:
    """Whether one of the words the speaker is asked about ("about the falling dollar")
    is in the statement's paragraph or the story's title and first paragraph: what
    someone said about something the article never names is not an answer."""
    if not asked.about:
        return True
    scope = neighbourhood(passage, start, end)
    return bool(set(asked.about) & {stem(w) for w in words(scope)})


_QUOTATION = re.compile(r"[\u201c\"]([^\u201d\"]+)[\u201d\"]")


def _direct(text: str) -> bool:
    """Whether the text quotes someone's own words (five words or more in marks)."""
    return any(len(q.split()) >= 5 for q in _QUOTATION.findall(text))


def statements(asked: Asked, evidence: Sequence[Evidence], passages: Sequence[Passage]
               ) -> list[tuple[Evidence, tuple[int, int], float]]:
    """The sentences of one article attributed to the asked speaker, with the span to
    quote (a quotation that runs on is followed to its closing mark) and the score of the
    sentence that named the speaker (0 when the statement names them itself)."""
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
    out = []
    last_named, last_score = "", 0.0   # the last person named as a subject, and where
    before, before_score = "", 0.0     # the person the sentence before is about
    speaker_here, here_score = None, 0.0
    roles = set(asked.speaker_roles)
    names = set(asked.speaker_names)
    for ev in ordered:
        doc = docs[ev.start]
        antecedent, antecedent_score = (before, before_score) if before else \
            (last_named, last_score)
        found = speaker_of(doc, antecedent) if _may_attribute(ev.text) else None
        subject = subject_person(doc)
        if subject:
            last_named, last_score = subject, ev.score
        # A sentence is about its speaker, else its subject, else the one person it names.
        before = (found[0] if found else "") or subject or only_person(doc)
        before_score = ev.score
        if found is not None:
            who, named = found
            if roles and named and roles <= {w.lower() for w in who.split()}:
                names |= {w for w in who.split() if w[:1].isupper()
                          and w.lower() not in STOPWORDS}  # "chief executive Peter Brabeck"
            # Only the speaker's own quoted words take the score of where they were named:
            # reported speech says what it is about itself.
            context = 0.0 if named or not _direct(ev.text) else antecedent_score
            speaker_here, here_score = who, ev.score if named else context
            if _matches(who, names, roles):
                out.append((ev, extend_quote(text, ev.start, ev.end), context))
            continue
        # A quotation with no reporting verb continues the speaker of the sentence before
        # it in the same paragraph.
        if speaker_here and ev.text.lstrip()[:1] in OPEN_QUOTES and out and \
                paragraph(text, ev.start, ev.end) == paragraph(text, *out[-1][1]) and \
                _matches(speaker_here, names, roles):
            out.append((ev, extend_quote(text, ev.start, ev.end), here_score))
        else:
            speaker_here = None
    return out


def subject_person(doc) -> str:
    """The person a sentence is about: a named person as its subject (a name in a
    by-phrase or an object does not change whom a later "he" or "she" refers to)."""
    people = [e for e in doc.ents if e.label_ == "PERSON"]
    for e in people:  # the subject itself: "... ex-wife Brigitte Nielsen nominated ..."
        if e.root.dep_ in ("nsubj", "nsubjpass"):
            return e.text
    for e in people:  # named beside it ("Mr X, the minister, said"), not its owner ("X's")
        if e.root.dep_ != "poss" and any(t.head.dep_ in ("nsubj", "nsubjpass", "appos")
                                         for t in e):
            return e.text
    return ""


def only_person(doc) -> str:
    """The one person a sentence names, if it names exactly one (and no one as a
    speaker's subject)."""
    people = {e.text for e in doc.ents if e.label_ == "PERSON"}
    return people.pop() if len(people) == 1 else ""


def _may_attribute(sentence: str) -> bool:
    """A cheap test before parsing: a quotation mark or a reporting verb's usual forms."""
    low = sentence.lower()
    return any(q in sentence for q in "\u201c\u201d\"") or "according to" in low or any(
        re.search(rf"\b{v}(?:s|ed|d)?\b", low) for v in REPORTING_STEMS)


def _matches(who: str, names: set[str], roles: set[str]) -> bool:
    tokens = set(re.findall(r"[\w-]+", who))
    if names:
        return bool(names & tokens)
    return bool(roles) and roles <= {t.lower() for t in tokens}


# -- why, overview, summary ------------------------------------------------------------
