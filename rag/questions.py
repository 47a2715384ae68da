"""What a question asks for: its kind, the entity types an answer of that kind holds, the
speaker whose words it wants, and the specifics (names, places, numbers) it fixes.

The question is parsed by spaCy (``nlp.parse``); the kind comes from its question word and
the noun it asks about ("which outlet" wants an organisation, "how many jobs" a count of
jobs), the speaker from the subject of its reporting verb ("What did BA chief executive
Rod Eddington say about ...?"), the specifics from its named entities and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .text import QUESTION_WORDS, STOPWORDS, stem

# Entity labels (OntoNotes, as spaCy's English models use them) an answer of each kind has.
LABELS = {
    "who": frozenset({"PERSON", "ORG"}),
    "person": frozenset({"PERSON"}),
    "organisation": frozenset({"ORG"}),
    "when": frozenset({"DATE", "TIME", "DURATION", "TIME_SPAN"}),
    "where": frozenset({"GPE", "LOC", "FAC", "ORG"}),  # "at the White House" is an ORG
    "number": frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY"}),
    "count": frozenset({"CARDINAL", "QUANTITY"}),
    "measure": frozenset({"QUANTITY"}),
    "much": frozenset({"MONEY", "PERCENT", "QUANTITY"}),
    "money": frozenset({"MONEY"}),
    "percent": frozenset({"PERCENT"}),
    "time": frozenset({"TIME", "TIME_SPAN"}),  # a clock time, or a race's ("7.96 seconds")
    # A length of time ("months", "two years"), not a point in it ("1885").
    "length": frozenset({"DURATION", "TIME_SPAN"}),
    # An age: a number, which the recogniser may call a date ("Bellamy, 25,").
    "age": frozenset({"AGE", "CARDINAL"}),
}
# Verbs of paying: "how much did X pay / offer / cost" wants an amount of money.
PAYING = frozenset("pay cost offer spend bid sell buy charge raise invest earn seek fetch "
                   "borrow lend owe value worth price".split())
TYPED = frozenset({"who", "when", "where", "number"})
# "How high / far / long ...?" asks for a measure.
_MEASURES = frozenset("high far long tall fast heavy deep big large old wide".split())

# Reporting verbs: the verbs news writing attributes speech with.
SPEECH_VERBS = frozenset("""
say tell add claim warn argue insist explain admit suggest state describe call note stress
predict reply respond comment believe think write announce acknowledge agree forecast urge
declare conclude caution confirm reckon expect deny complain estimate maintain observe
""".split())

# The noun a "which/what N" question asks about decides the entity type of the answer.
_NOUN_KIND = {
    "person": "person man woman minister executive boss chief official analyst leader "
              "president chairman chairwoman director head spokesman spokeswoman economist "
              "coach manager player captain athlete singer actor actress star writer author "
              "artist lawyer judge doctor member candidate winner champion founder",
    "organisation": "company firm bank outlet newspaper paper channel network group "
                    "organisation organization agency airline broadcaster carrier team club "
                    "party body regulator maker manufacturer retailer business brand buyer "
                    "bidder owner investor",
    "where": "country city town state region place capital nation venue location",
    "when": "year month day date decade week",
    "time": "time",  # "What time ...?", "What was her time?": a time, not a date
    "money": "price cost profit profits loss losses sales revenue revenues salary fine "
             "value turnover deficit debt bill budget income earnings dividend fee damages "
             "payout bonus",
    "percent": "percentage proportion rate share stake",
    "count": "amount figure number sum total toll population",
}
NOUN_KIND = {n: kind for kind, nouns in _NOUN_KIND.items() for n in nouns.split()}
_SUMMARY = frozenset({"summarise", "summarize", "summary", "summarising", "summarizing",
                      "recap", "gist", "tldr"})
_OVERVIEW_HEADS = frozenset({"about", "happen", "happened", "going"})
# Words that say what to do with the articles, not what they are about.
META_WORDS = frozenset("summarise summarize summary story article articles news report "
                       "piece recap gist tldr tell give short brief main key points".split())


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
    labels: frozenset[str] = frozenset()
    speaker: str = ""  # quote: the speaker as the question names them
    speaker_names: tuple[str, ...] = ()  # their surname(s)
    speaker_roles: tuple[str, ...] = ()  # or, unnamed, their role ("chief", "executive")
    specifics: tuple[Specific, ...] = ()
    counted: str = ""  # number: the stem of the noun counted ("plane")
    measure: str = ""  # number: the stem of the quantity asked for ("profit")
    own_words: tuple[str, ...] = ()  # stems of the question's own content words
    subject_of: str = ""  # who: the lemma of the verb whose subject "who" is ("sell")
    about_speech: bool = False  # the question asks about a saying ("Who did he tell?")
    topic: str = ""  # the question without its question and meta words
    peoples: tuple[str, ...] = ()  # nationalities it names, lower case ("japanese")
    action: str = ""  # when / where: the lemma of the question's main verb ("arrest")
    per: str = ""  # number: the unit an amount is asked per ("how much per share")
    wh: str = ""  # when / where: the question word
    about: tuple[str, ...] = ()  # quote: stems of what the speaker is asked about
    parties: tuple[str, ...] = ()  # when / where: stems of the main verb's subject, object
    grain: str = ""  # when / where: the noun of "What month / year / country ...?"

    def persons(self) -> set[str]:
        """The stems of the surnames of the people the question names."""
        return {stem(k.lower()) for s in self.specifics if s.label == "PERSON"
                for k in s.keys()}


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
    peoples = tuple(e.text.lower() for e in doc.ents if e.label_ == "NORP")
    speaker = _speaker(doc)
    if set(lower) & _SUMMARY or ("sum", "up") in zip(lower, lower[1:], strict=False):
        return Asked("summary", specifics=specifics, topic=topic)
    own = tuple(dict.fromkeys(stem(t.lower_) for t in tokens if t.is_alpha
                              and t.lower_ not in STOPWORDS and t.lower_ not in QUESTION_WORDS
                              and t.pos_ not in ("PRON",)))
    if first == "how" and len(lower) > 1 and lower[1] in ("many", "much"):
        counted = measure = ""
        head = tokens[1].head
        if head.pos_ in ("NOUN", "PROPN") and head.i != tokens[1].i:
            if lower[1] == "many":
                counted = stem(head.lower_)
            else:
                measure = stem(head.lower_)  # "how much profit"
        # Who did it must be named in the answer's own sentence ("How much profit did
        # Metlife make?" is not answered by Travelers' profit in a story about both).
        specifics = _doer_near(tokens, specifics)
        if lower[1] == "many":
            labels = LABELS["count"]
        elif any(t.lemma_ in PAYING or stem(t.lower_) in PAYING for t in tokens) or measure:
            labels = LABELS["money"]
        else:
            labels = LABELS["much"]
        return Asked("number", labels, specifics=specifics, counted=counted,
                     measure=measure, topic=topic, own_words=own, per=_per(tokens))
    # "On what date did the NFL announce ...?" asks for a date, not the NFL's words.
    typed_noun = first in ("what", "which") and NOUN_KIND.get(
        getattr(_asked_noun(tokens), "lower_", "")) is not None
    if first == "how" and len(lower) > 1 and lower[1] in _MEASURES:
        # "How high did she clear?": a measure ("4.89 metres"); "how long" also a length
        # of time ("two years"), "how old" an age ("Bellamy, 25,").
        labels = LABELS["measure"] | (LABELS["length"] if lower[1] == "long" else
                                      LABELS["age"] if lower[1] == "old" else frozenset())
        return Asked("number", labels, specifics=_doer_near(tokens, specifics),
                     topic=topic, own_words=own)
    if speaker is not None and first in ("what", "how", "did", "does", "has") and \
            not typed_noun:
        # A person's name; else the subject itself when it is a name ("Zelenskyy");
        # else, for "Nestle's chief executive", the role.
        head = next((t for t in speaker if t.dep_ in ("nsubj", "nsubjpass")), speaker[-1])
        names = tuple(t.text for t in speaker if t.ent_type_ == "PERSON") or (
            (head.text,) if head.pos_ == "PROPN" else ())
        surname = names[-1:]
        roles = tuple(t.lower_ for t in speaker if t.pos_ == "NOUN")
        said = frozenset(t.i for t in speaker)
        # What they are asked to have said it about: the content words that are neither
        # the speaker's nor the asking verb ("about the falling dollar" -> fall, dollar).
        about = tuple(dict.fromkeys(
            stem(t.lower_) for t in tokens if t.i not in said and t.is_alpha
            and t.lemma_ not in ASKING_VERBS and t.lower_ not in STOPWORDS
            and t.lower_ not in QUESTION_WORDS and t.pos_ in ("NOUN", "PROPN", "ADJ", "VERB")))
        return Asked("quote", speaker=" ".join(t.text for t in speaker),
                     speaker_names=surname, speaker_roles=roles if not surname else (),
                     specifics=tuple(s for s in specifics
                                     if not any(k in {doc[i].text for i in said}
                                                for k in s.keys())),
                     topic=topic, about=about)
    if first in ("who", "whom", "whose", "which", "what"):
        spoken = any(t.lemma_ in SPEECH_VERBS for t in tokens)
    if first in ("who", "whom", "whose"):
        verb = tokens[0].head
        doer = verb.lemma_ if tokens[0].dep_ == "nsubj" and verb.pos_ == "VERB" \
            and verb.lemma_ not in ("be", "have", "go") else ""
        return Asked("who", LABELS["who"], specifics=specifics, topic=topic, own_words=own,
                     subject_of=doer, about_speech=spoken)
    if first in ("when", "where"):
        root = next((t for t in tokens if t.dep_ == "ROOT"), None)
        return Asked(first, LABELS[first], specifics=specifics, topic=topic, own_words=own,
                     peoples=peoples, action=_action(root), wh=first,
                     parties=_parties(root))
    if first == "why" or lower[:2] == ["how", "come"]:
        return Asked("why", specifics=specifics, topic=topic)
    if first in ("what", "which"):
        noun = _asked_noun(tokens)
        kind = NOUN_KIND.get(noun.lower_) if noun is not None else None
        if kind is not None:
            labels = LABELS[kind]
            # "What profit ...": the sentence must name what it measures; "What share of
            # the vote ...": a percentage is the answer whatever the sentence calls it.
            measure = stem(noun.lower_) if kind in ("money", "count") else ""
            kind = {"person": "who", "organisation": "who", "money": "number",
                    "percent": "number", "count": "number", "time": "when"}.get(kind, kind)
            return Asked(kind, labels, specifics=tuple(
                s for s in specifics if noun.text not in s.text), topic=topic,
                measure=measure, own_words=tuple(w for w in own if w != stem(noun.lower_)),
                about_speech=spoken,
                grain=noun.lower_ if kind in ("when", "where") else "")
        if set(lower) & _OVERVIEW_HEADS and any(t.lemma_ in ("be", "happen") for t in tokens):
            return Asked("overview", specifics=specifics, topic=topic)
    if first in ("explain", "describe") or lower[:3] == ["tell", "me", "about"]:
        return Asked("overview", specifics=specifics, topic=topic)
    return Asked("other", specifics=specifics, topic=topic)


def _doer_near(tokens, specifics: tuple[Specific, ...]) -> tuple[Specific, ...]:
    """The specifics, the one that is the subject of the question's verb marked to be
    found in the answer's own sentence."""
    subject = next((t for t in tokens if t.dep_ == "nsubj" and t.head.pos_ == "VERB"
                    and t.pos_ == "PROPN" and t.ent_type_ in ("", "ORG", "PERSON", "GPE")), None)
    if subject is None:
        return specifics
    marked = tuple(Specific(sp.text, sp.label, near=True) if subject.text in sp.text.split()
                   else sp for sp in specifics)
    if marked == specifics:  # a name the entity recogniser missed ("Metlife")
        marked += (Specific(subject.text, "ORG", near=True),)
    return marked


def _action(root) -> str:
    """The lemma of the question's main verb (``root``), unless it is a helper ("be",
    "have", "do"): "When will the album be released?" -> "release"."""
    if root is None or root.pos_ != "VERB" or root.lemma_ in ("be", "have", "do", "go",
                                                               "happen", "take"):
        return ""
    return root.lemma_.lower()


def _parties(root) -> tuple[str, ...]:
    """The stems of the head nouns of the main verb's (``root``'s) subject and object:
    "When did Luther write the treatise?" -> ("luther", "treatis"); pronouns left out."""
    if root is None:
        return ()
    return tuple(stem(c.lower_) for c in root.children
                 if c.dep_ in ("nsubj", "nsubjpass", "dobj") and c.pos_ in ("NOUN", "PROPN"))


def _per(tokens) -> str:
    """The unit an amount is asked per: "How much per share ..." or "How much a share
    ..." -> "share"; "" when none."""
    lower = [t.lower_ for t in tokens]
    for k in range(2, min(len(tokens) - 1, 4)):
        if lower[k] in ("per", "a", "an", "each") and tokens[k + 1].pos_ == "NOUN" and \
                lower[k - 1] in ("much", "many") + tuple(lower[2:k]):
            return stem(tokens[k + 1].lower_)
    return ""


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


# The verbs that make a question ask for someone's words ("What did X say / tell / write
# about Y?"); "called", "thought" or "added" in a question rarely do.
ASKING_VERBS = frozenset("say tell comment claim warn argue insist explain admit suggest "
                         "state predict reply respond write announce describe".split())


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
