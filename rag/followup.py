"""A follow-up about the person the last answer named ("Who will run Nissan?" - "Toshiyuki
Shiga ..." - "What is he in charge of at the moment?"), when it asks for no typed answer.

The answer is a sentence about that person from the article the answer came from: one
that names them as its subject (or is about only them), or whose subject is "he" or "she"
going on about them (the person the sentence before is about, else the last person named
as a subject: the rule ``speech.py`` follows for who said what). Of those, the sentences
holding more of the follow-up's own words come first; of as many, one in the follow-up's
tense ("is" / "was" / "will"); then the closest to the query. The sentence the last answer
already showed is not shown again. Names match by surname, as for speakers.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import nlp
from .grounding import Evidence, Verified, citation
from .spans import Shaped, extend_quote, quoted
from .speech import only_person, subject_person
from .text import QUESTION_WORDS, STOPWORDS, stem, words
from .types import Passage

_PRONOUNS = ("he", "she")


def about_person(question: str, person: str, evidence: Sequence[Evidence],
                 passages: Sequence[Passage],
                 shown: tuple[str, int, int] | None = None) -> Shaped | None:
    """The sentence of the best article about ``person`` that answers ``question`` (a
    follow-up referring to them as "he" or "she"), quoted and cited; None when no
    sentence about them holds any of the follow-up's own words."""
    if not evidence or not person:
        return None
    surname = person.split()[-1]
    article = passages[evidence[0].passage].article.id
    by_start: dict[int, Evidence] = {}
    for ev in evidence:
        if passages[ev.passage].article.id == article:
            by_start.setdefault(ev.start, ev)
    ordered = [by_start[s] for s in sorted(by_start)]
    qdoc, *docs = nlp.parse([question] + [ev.text for ev in ordered])
    own = {stem(w) for w in words(question) if w not in STOPWORDS
           and w not in QUESTION_WORDS and w not in _PRONOUNS}
    want = _tense(next((t for t in qdoc if t.dep_ == "ROOT"), None))
    found = []
    before = last_named = ""
    for ev, doc in zip(ordered, docs, strict=True):
        subject = subject_person(doc)
        pronoun = any(t.lower_ in _PRONOUNS and t.dep_ in ("nsubj", "nsubjpass")
                      for t in doc)
        about = subject or ((before or last_named) if pronoun else only_person(doc))
        if subject:
            last_named = subject
        before = about
        if surname not in about.split() or (shown and shown[0] == article and
                                            shown[1] <= ev.start < shown[2]):
            continue
        stems = [stem(t.lower_) for t in doc]
        held = [t for t, st in zip(doc, stems, strict=True) if st in own]
        if held:
            tense = _tense(_clause(held[0]))
            found.append((-len({stem(t.lower_) for t in held}), tense != want, -ev.score, ev))
    if not found:
        return None
    ev = min(found, key=lambda f: f[:3])[3]
    p = passages[ev.passage]
    c = citation(1, p, *extend_quote(p.article.text, ev.start, ev.end))
    return Shaped(Verified(f"{quoted(c.quote)} [1]", (c,)))


def _clause(token):
    """The verb of the clause a token is in."""
    while token.pos_ not in ("VERB", "AUX") and token.head is not token:
        token = token.head
    return token


def _tense(verb) -> str:
    """"future" (a "will" verb), "past" or "present"."""
    if verb is None:
        return "present"
    auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
    if any(a.lower_ in ("will", "'ll", "shall") for a in auxes):
        return "future"
    if verb.tag_ in ("VBD", "VBN") or any(a.tag_ == "VBD" for a in auxes):
        return "past"
    return "present"
