"""Example questions made from an article's own text, of three kinds: what someone said
("What did Lavrov say?"), a count or a date a sentence gives ("How many missiles did
Russia fire at Ukraine?", "When did Moscow annex the peninsula?") and a summary of the
story, named by its title. The page shows only those the assistant answers from the
article they were made from (``articles.Library.examples``).
"""

from __future__ import annotations

import re
from collections import Counter

from rag import Article, lexicon

from .render import heading

#: The kinds of example, in the order they are offered, and the ``Answer.kind`` each
#: must be answered as.
KINDS = {"quote": ("quote",), "typed": ("number", "when", "who"), "summary": ("summary",)}
#: Sentences of an article read for a count or a date (its opening is where news puts
#: its facts; parsing more costs time on every new index generation).
READ_SENTENCES = 25
#: Longest subject a question repeats ("the Rotterdam port authority").
SUBJECT_TOKENS = 6
_DATE_WORD = re.compile(r"\b(?:\d{4}|" + "|".join(
    w.capitalize() for w in sorted(lexicon.MONTH_NAMES | lexicon.WEEKDAYS)) + r")\b")


def candidates(article: Article, docs=None) -> dict[str, list[tuple[str, str]]]:
    """The example questions ``article`` offers, by kind (best first), each with the
    sentence its answer must quote ("" for any of the article's): what the people it
    quotes most said, counts and dates from its parsed sentences (``docs``; none when
    not given), a summary of it by its title."""
    out: dict[str, list[tuple[str, str]]] = {kind: [] for kind in KINDS}
    out["quote"] = [(f"What did {name} say?", "") for name in speakers(article.text)[:2]]
    for doc in docs or ():
        for make in (count_question, date_question):
            q = make(doc)
            if q and q not in [x for x, _ in out["typed"]]:
                out["typed"].append((q, doc.text))
    named = heading(article.title, article.path)
    out["summary"].append((f"Summarise the story \u201c{named}\u201d.", ""))
    return out


def _words(tokens) -> str:
    return "".join(t.text_with_ws for t in tokens).strip().rstrip(",;:")


def _subject(verb):
    """The verb's subject when a question can repeat it: a short noun phrase, not a
    pronoun or a clause."""
    subj = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    if subj is None or subj.lower_ in lexicon.NOT_SUBJECTS or subj.pos_ not in ("PROPN", "NOUN"):
        return None
    tokens = list(subj.subtree)
    if len(tokens) > SUBJECT_TOKENS or any(t.is_punct for t in tokens):
        return None
    return tokens


def _clause_end(tokens) -> list:
    """The tokens up to the first comma, dash or end of sentence."""
    out = []
    for t in tokens:
        if t.is_punct and t.text in (",", ";", ":", ".", "\u2014", "\u2013", "!", "?"):
            break
        out.append(t)
    return out


def _names_a_thing(prep) -> bool:
    """Whether a prepositional phrase names a thing or place, not a time."""
    objects = [c for c in prep.children if c.dep_ == "pobj"]
    return bool(objects) and objects[0].pos_ in ("PROPN", "NOUN") and not any(
        t.ent_type_ in ("DATE", "TIME") for t in prep.subtree)


def count_question(doc) -> str | None:
    """"How many ...?" of a counted plural noun: as the subject ("About 9200 people in
    Leeds signed a petition ..." -> "How many people in Leeds signed a petition ...?") or
    as the object of a past-tense verb ("Russia fired at least 70 missiles ... at
    Ukraine" -> "How many missiles did Russia fire at Ukraine?")."""
    for num in doc:
        noun = num.head
        if num.dep_ != "nummod" or not num.like_num or noun.tag_ != "NNS":
            continue
        verb = noun.head
        if verb.tag_ != "VBD" or verb.lemma_.lower() in lexicon.SAYING:
            continue
        if noun.dep_ == "nsubj" and num.i < noun.i:
            rest = _clause_end(doc[noun.i:])
            if verb in rest and len(rest) <= 16:
                return f"How many {_words(rest)}?"
        if noun.dep_ == "dobj":
            subject = _subject(verb)
            if subject is None:
                continue
            # Where it was done to: the first place-like phrase after the object ("at
            # Ukraine"), of the verb or of the counted things; never a date.
            heads = [verb, noun, *(c for c in noun.children if c.dep_ == "conj")]
            where = sorted((c for h in heads for c in h.children if c.dep_ == "prep"
                            and c.i > noun.i and _names_a_thing(c)), key=lambda c: c.i)
            tail = _words(_clause_end(where[0].subtree)) if where else ""
            return (f"How many {noun.text} did {_words(subject)} {verb.lemma_}"
                    f"{' ' + tail if tail else ''}?")
    return None


def date_question(doc) -> str | None:
    """"When did ...?" of a past-tense verb with a subject, an object and a date that
    names a year, month or day ("Moscow annexed the peninsula in 2014." -> "When did
    Moscow annex the peninsula?")."""
    for verb in doc:
        if verb.tag_ != "VBD" or verb.lemma_.lower() in lexicon.SAYING:
            continue
        dated = [t for c in verb.children if c.dep_ in ("prep", "npadvmod")
                 for t in c.subtree if t.ent_type_ == "DATE"]
        if not dated or not _DATE_WORD.search(" ".join(t.text for t in dated)):
            continue
        subject = _subject(verb)
        obj = next((c for c in verb.children if c.dep_ == "dobj"), None)
        if subject is None or obj is None:
            continue
        what = _clause_end(obj.subtree)
        if len(what) > 8 or any(t.ent_type_ == "DATE" for t in what):
            continue
        return f"When did {_words(subject)} {verb.lemma_} {_words(what)}?"
    return None


class Offer:
    """The example questions one article offers, by kind; counts and dates are made when
    first asked for (they need its opening sentences parsed). ``used``: the kinds shown."""

    def __init__(self, article: Article, parse=None):
        """``parse(article, limit)``: the article's opening statements parsed
        (``Assistant.opening_statements``); without it, no counts or dates are offered."""
        self.article = article
        self._parse = parse
        self.used: set[str] = set()
        self._made = candidates(article)
        self._parsed = False

    def questions(self, kind: str) -> list[tuple[str, str]]:
        if kind == "typed" and not self._parsed:
            self._parsed = True
            try:
                docs = self._parse(self.article, READ_SENTENCES) if self._parse else []
            except Exception:  # no parser: no counts or dates; the other kinds stay
                docs = []
            self._made["typed"] = candidates(self.article, docs)["typed"]
        return self._made[kind]


# A person named as the one speaking: "Mr Brown said", "said Gordon Brown", "Lavrov told".
_TITLED = rf"(?:{'|'.join(lexicon.TITLES)})\.? [A-Z]\w+"
_NAME = r"[A-Z][a-z]\w+(?: [A-Z][a-z]\w+){0,2}"
_SAYS = rf"(?:{'|'.join(lexicon.SAID_FORMS)})"
_SPEAKER = re.compile(rf"\b({_TITLED}|{_NAME}) {_SAYS}\b|\b{_SAYS} ({_TITLED}|{_NAME})\b")
_HONORIFIC = tuple(f"{h} " for h in lexicon.HONORIFICS)


def speakers(text: str) -> list[str]:
    """The people an article quotes, most often quoted first (ties: first named).
    "Minister Sergey Lavrov said" and "Lavrov told" are one person (the same last name),
    named as "Lavrov", or as "Mr Brown" where the article itself says so."""
    forms: dict[str, Counter[str]] = {}
    for m in _SPEAKER.finditer(text):
        name = m[1] or m[2]
        before = text[max(0, m.start() - 4):m.start()].lower()
        if name.split()[0] in lexicon.NOT_NAMES or before.endswith("the "):
            continue
        forms.setdefault(name.split()[-1], Counter())[name] += 1
    ranked = sorted(forms, key=lambda k: -sum(forms[k].values()))  # stable: first named
    out = []
    for surname in ranked:
        form = forms[surname].most_common(1)[0][0]
        out.append(form if form.startswith(_HONORIFIC) else surname)
    return out


def main_speaker(text: str) -> str | None:
    """The person an article quotes most often (``speakers``), or None."""
    return next(iter(speakers(text)), None)
