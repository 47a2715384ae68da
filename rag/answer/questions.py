"""What a question asks for: its kind, the speaker whose words it wants, and the
specifics (names, places, numbers) it fixes.

The question is parsed by spaCy (``nlp.parse``); the kind comes from its question word and
the noun it asks about ("which outlet" asks who, "which year" when, "how many jobs" a
number), the speaker from the subject of its reporting verb ("What did BA chief executive
Rod Eddington say about ...?"), the specifics from its named entities and numbers. The
kind routes the question: the reader answers who / when / where / number / why / other (a
when- or number-span is checked for a date or a number), what someone said, overviews and
summaries are shaped from whole sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.lexicon import (
    ASKING_VERBS,
    MEASURES,
    META_WORDS,
    NOUN_KIND,
    OVERVIEW_HEADS,
    QUESTION_WORDS,
    STOPWORDS,
    SUMMARY_WORDS,
)
from rag.text import stem


@dataclass(frozen=True)
class Specific:
    """Something the question names that the answer's neighbourhood must hold."""

    text: str
    label: str  # the entity label, or "NUM" for a bare number
    near: bool = False  # must be in the answer's own sentence (a follow-up's "he")

    def keys(self) -> list[str]:
        """The words that must be found: a person's surname; every capitalised word of
        other names; the digits of a number or date."""
        tokens = [t for t in self.text.replace("'s", " ").split() if t.strip(".,")]
        if self.label in ("NUM", "DATE", "CARDINAL", "MONEY", "PERCENT", "QUANTITY", "TIME"):
            return [t.strip(".,") for t in tokens if any(ch.isdigit() for ch in t)]
        if self.label == "PERSON":
            return tokens[-1:]
        return [t for t in tokens if t[:1].isupper() and t.lower() not in STOPWORDS]


@dataclass(frozen=True)
class Asked:
    kind: str  # who, when, where, number, quote, why, overview, summary, other
    speaker: str = ""  # quote: the speaker as the question names them
    speaker_names: tuple[str, ...] = ()  # their surname(s)
    speaker_roles: tuple[str, ...] = ()  # or, unnamed, their role ("chief", "executive")
    specifics: tuple[Specific, ...] = ()
    topic: str = ""  # the question without its question and meta words
    about: tuple[str, ...] = ()  # quote: stems of what the speaker is asked about


def classify(question: str, doc) -> Asked:
    """What ``question`` (parsed as ``doc``) asks for."""
    tokens = [t for t in doc if not t.is_punct]
    while tokens and tokens[0].lower_ in ("and", "so", "but", "then", "ok", "okay"):
        tokens = tokens[1:]
    # "In which year ...", "At what time ...": the question word after a preposition.
    if len(tokens) > 1 and tokens[0].pos_ == "ADP" and tokens[1].lower_ in ("which", "what"):
        tokens = tokens[1:]
    lower = [t.lower_ for t in tokens]
    first = lower[0] if lower else ""
    # Nationalities are left out: "Japanese" is often "Japan's" in the article.
    specifics = tuple(Specific(e.text, e.label_) for e in doc.ents
                      if e.label_ not in ("ORDINAL", "NORP")
                      and Specific(e.text, e.label_).keys())
    topic = " ".join(t.text for t in tokens if t.lower_ not in META_WORDS)
    if set(lower) & SUMMARY_WORDS or ("sum", "up") in zip(lower, lower[1:], strict=False):
        return Asked("summary", specifics=specifics, topic=topic)
    if first == "how" and len(lower) > 1 and (lower[1] in ("many", "much")
                                              or lower[1] in MEASURES):
        return Asked("number", specifics=specifics, topic=topic)
    noun = _asked_noun(tokens) if first in ("what", "which") else None
    asked_kind = NOUN_KIND.get(noun.lower_) if noun is not None else None
    speaker = _speaker(doc)
    # "On what date did the NFL announce ...?" asks for a date, not the NFL's words.
    if speaker is not None and first in ("what", "how", "did", "does", "has") and \
            asked_kind is None:
        return _quote(doc, tokens, speaker, specifics, topic)
    if first in ("who", "whom", "whose", "when", "where"):
        return Asked(first if first in ("when", "where") else "who", specifics=specifics,
                     topic=topic)
    if first == "why" or lower[:2] == ["how", "come"]:
        return Asked("why", specifics=specifics, topic=topic)
    if asked_kind is not None:
        kind = {"person": "who", "organisation": "who", "money": "number",
                "percent": "number", "count": "number", "time": "when"}.get(asked_kind,
                                                                            asked_kind)
        return Asked(kind, specifics=specifics, topic=topic)
    if first in ("what", "which") and set(lower) & OVERVIEW_HEADS and any(
            t.lemma_ in ("be", "happen") for t in tokens):
        return Asked("overview", specifics=specifics, topic=topic)
    if first in ("explain", "describe") or lower[:3] == ["tell", "me", "about"]:
        return Asked("overview", specifics=specifics, topic=topic)
    return Asked("other", specifics=specifics, topic=topic)


def _quote(doc, tokens, speaker, specifics, topic) -> Asked:
    """A question for what the ``speaker`` said: their surname, else their role
    ("Nestle's chief executive"), and what they are asked to have said it about."""
    # A person's name; else the subject itself when it is a name ("Zelenskyy").
    head = next((t for t in speaker if t.dep_ in ("nsubj", "nsubjpass")), speaker[-1])
    names = tuple(t.text for t in speaker if t.ent_type_ == "PERSON") or (
        (head.text,) if head.pos_ == "PROPN" else ())
    surname = names[-1:]
    roles = tuple(t.lower_ for t in speaker if t.pos_ == "NOUN")
    said = frozenset(t.i for t in speaker)
    # The content words that are neither the speaker's nor the asking verb ("about the
    # falling dollar" -> fall, dollar).
    about = tuple(dict.fromkeys(
        stem(t.lower_) for t in tokens if t.i not in said and t.is_alpha
        and t.lemma_ not in ASKING_VERBS and t.lower_ not in STOPWORDS
        and t.lower_ not in QUESTION_WORDS and t.pos_ in ("NOUN", "PROPN", "ADJ", "VERB")))
    return Asked("quote", speaker=" ".join(t.text for t in speaker), speaker_names=surname,
                 speaker_roles=roles if not surname else (),
                 specifics=tuple(s for s in specifics
                                 if not any(k in {doc[i].text for i in said} for k in s.keys())),
                 topic=topic, about=about)


def _asked_noun(tokens):
    """The noun a "what/which ..." question asks about: the noun right after the question
    word ("which outlet"), or the subject of a "what was X's N" question."""
    for t in tokens[1:5]:
        if t.pos_ == "NOUN" and t.dep_ not in ("compound", "amod", "nmod"):
            return t
        if t.pos_ not in ("ADJ", "DET", "NUM", "NOUN", "ADP"):
            break
    if len(tokens) > 1 and tokens[1].lemma_ == "be":
        return next((t for t in tokens[2:] if t.dep_ in ("nsubj", "attr") and t.pos_ == "NOUN"),
                    None)
    return None


def _speaker(doc):
    """The tokens of the subject of the question's reporting verb ("What did X say?"), or
    None when it has none, the subject is the question word, or it is not someone (a
    name, a pronoun or a noun with no capital: "the campaign")."""
    for t in doc:
        if t.pos_ == "VERB" and t.lemma_ in ASKING_VERBS:
            subject = next((c for c in t.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if subject is None or subject.lower_ in ("who", "what", "which", "that", "it",
                                                      "this"):
                return None
            span = [w for w in subject.subtree if not w.is_punct and w.dep_ != "case"]
            # Someone: a name, a pronoun, a word for a person, or a role someone has
            # ("her coach", "the firm's lawyer").
            someone = subject.pos_ in ("PROPN", "PRON") or subject.ent_type_ in (
                "PERSON", "ORG", "NORP", "GPE") or NOUN_KIND.get(subject.lower_) == "person" \
                or any(c.dep_ == "poss" for c in subject.children)
            return span if someone else None
    return None
