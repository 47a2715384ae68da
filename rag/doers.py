"""Who did what in a parsed sentence (spaCy's dependency parse): the doers of a verb
(its subject, a passive's agent, who its agent noun names: "the seller - X -"), the
clause whose subject did a verb, the parties to a quotation, and how many dependency
edges lie between two words. The typed answers (``shapes.py``) tie an entity to the
question with these."""

from __future__ import annotations

from .questions import SPEECH_VERBS
from .text import stem


def unnamed_doer(doc, verb: str, asked_words: set[str]):
    """Who did ``verb`` when the sentence names them as no entity of the asked type: its
    subject as a noun phrase ("A US woman is suing HP" -> "A US woman"; "Ethiopia's
    Tirunesh Dibaba ... in winning" where the recogniser missed the name), or the agent
    of a passive ("the Parliament (elected by citizens)" -> "citizens"), unless the
    question says it already."""
    for t in doc:
        if t.pos_ in ("VERB", "AUX") and t.lemma_ == verb:
            subject = next((c for c in clause_of(t).children if c.dep_ == "nsubj"), None)
            if subject is None:  # a passive's agent: "the Parliament (elected by citizens)"
                subject = next((g for c in t.children if c.dep_ == "agent"
                                for g in c.children if g.dep_ == "pobj"), None)
            if subject is not None and subject.pos_ in ("NOUN", "PROPN") and \
                    stem(subject.lower_) not in asked_words:
                return doc[subject.left_edge.i:subject.i + 1]
    return None


def clause_of(verb):
    """The verb whose subject did ``verb``: itself, or for a verb with no subject of its
    own the verb it depends on ("X used his to accidentally send ..."; "X set a record
    in winning ...": through the preposition)."""
    t = verb
    while t.dep_ in ("xcomp", "advcl", "conj", "pcomp") and not any(
            c.dep_ in ("nsubj", "nsubjpass", "agent") for c in t.children):
        t = t.head.head if t.dep_ == "pcomp" else t.head
    return t


def hops(a, b) -> int:
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


def speech_parties(doc) -> set[int]:
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


def does(doc, verb: str) -> set[int] | None:
    """Positions of the tokens that did ``verb`` (a lemma) in the sentence: the subject of
    an active use, the agent ("by X") of a passive one, or who is called by the verb's
    agent noun ("the seller - X -", "X, the buyer,"); None when the sentence has neither
    the verb nor its agent noun."""
    if not verb:
        return None
    uses = [t for t in doc if t.pos_ in ("VERB", "AUX") and t.lemma_ == verb]
    agents = [t for t in doc if t.pos_ == "NOUN" and t.lemma_ != verb and
              t.lemma_ in (verb + "er", verb + "r", verb + "or", verb[:-1] + "or")]
    if not uses and not agents:
        return None
    out = set()
    for t in map(clause_of, uses):
        for c in t.children:
            if c.dep_ == "nsubj" and c.lower_ in ("who", "that", "which") and \
                    t.dep_ == "relcl":
                # "Gatlin, who won in 9.87 seconds": the one the clause is about.
                out |= {w.i for w in t.head.subtree if w.i < t.left_edge.i}
            elif c.dep_ == "nsubj":
                out |= {w.i for w in c.subtree}
            elif c.dep_ == "agent":
                out |= {w.i for g in c.children for w in g.subtree}
    for t in agents:
        while t.dep_ in ("nmod", "compound", "amod", "npadvmod") and \
                t.head.pos_ in ("NOUN", "PROPN", "ADJ"):
            t = t.head  # "The seller - Irish-based firm Quinlan Private -"
        out |= {w.i for w in t.subtree}
        # "Quinlan Private, the seller,"; "Robbie Keane, skipper for the night and scorer
        # of the second goal,": the one the apposition is about.
        u = t
        while u.dep_ in ("conj", "pobj", "prep") and u.head is not u:
            u = u.head
        if u.dep_ == "appos":
            out |= {w.i for w in u.head.subtree}
        if t.dep_ in ("attr", "nsubj") and t.head.lemma_ == "be":  # "X is the seller"
            out |= {w.i for c in t.head.children if c.dep_ in ("nsubj", "attr")
                    for w in c.subtree}
    return out
