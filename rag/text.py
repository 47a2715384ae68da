"""Words as every stage counts them: one tokenizer, one stemmer, IDF (the word lists are
``rag.lexicon``'s), and answers compared as SQuAD compares them.

Retrieval (the focus signal, the coverage of the query's words), the gate, the sentence
scores and the citation check all use these, so "the same word" means the same thing
everywhere in the library. One place still differs: the embedded store's full-text index
(SQLite FTS5) stems with its own Porter stemmer when it counts BM25 and document
frequencies. That stemmer folds more ("university" and "universe" meet at "univers");
this one only takes inflections off, which is what matching a question to one sentence
needs, and an engine such as Milvus may stem differently again (or not at all).
"""

from __future__ import annotations

import math
import re
import string
from functools import lru_cache

from rag.lexicon import QUESTION_WORDS, STOPWORDS

WORD = re.compile(r"\w+", re.UNICODE)

def words(text: str) -> list[str]:
    """The text's words, lower-cased (letters, digits and underscores)."""
    return WORD.findall(text.lower())


def content_words(text: str, drop_question_words: bool = False) -> list[str]:
    """The words that are not stopwords (and, if asked, not question words)."""
    out = [w for w in words(text) if w not in STOPWORDS]
    if drop_question_words:
        out = [w for w in out if w not in QUESTION_WORDS]
    return out


def content_stems(text: str, drop_question_words: bool = False) -> list[str]:
    return [stem(w) for w in content_words(text, drop_question_words)]


_VOWEL = re.compile(r"[aeiouy]")
# (suffix, replacement), tried in order; the first that fits is taken off.
_ENDINGS = (("sses", "ss"), ("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"),
            ("zes", "z"), ("ss", "ss"), ("us", "us"), ("is", "is"), ("s", ""))


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light, symmetric inflection stripper: plurals, -ed and -ing, so that "strike",
    "strikes", "struck"-less "striking", "elected" and "elects" meet, and "parties" meets
    "party". Words of three letters or fewer are left as they are. A stem always shares
    all but its last letter with the word it came from (``occurrences`` relies on it).
    """
    w = word.lower()
    if len(w) <= 3:
        return w
    for suffix, repl in _ENDINGS:
        if w.endswith(suffix) and (suffix != "ies" or len(w) > 4):
            w = w[:-len(suffix)] + repl
            break
    if w.endswith("eed"):
        w = w[:-1]  # "agreed" -> "agree"
    for suffix in ("ing", "ed"):
        rest = w[:-len(suffix)]
        if w.endswith(suffix) and len(rest) >= 3 and _VOWEL.search(rest):
            w = rest
            if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]  # "running" -> "run", "stopped" -> "stop"
            break
    if len(w) > 3 and w.endswith("e") and not w.endswith(("ee", "ye")):
        w = w[:-1]  # "vote", "votes", "voted", "voting" -> "vot"
    if len(w) > 3 and w.endswith("y") and w[-2] not in "aeiou":
        w = w[:-1] + "i"  # "party", "parties", "partied" -> "parti"
    return w


def occurrences(text: str, stems: list[str]):
    """(index of the stem, offset) of each word of ``text`` whose ``stem`` is one of
    ``stems``, ignoring case. (``str.find`` for the stem's unchanging head, then a check of
    the whole word, scans far faster than stemming every word of a long text.)"""
    low = text.lower()
    if len(low) != len(text):  # a few characters grow when lower-cased: offsets shift
        low = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
    word_at = WORD.match
    for k, target in enumerate(stems):
        head = target[:-1] if len(target) > 3 or target[-1] in "iy" else target
        pos = low.find(head)
        while pos != -1:
            if pos == 0 or not (low[pos - 1].isalnum() or low[pos - 1] == "_"):
                word = word_at(low, pos).group()
                if word == target or stem(word) == target:
                    yield k, pos
            pos = low.find(head, pos + 1)


def idf_weight(total: int, df: int) -> float:
    """BM25's IDF of a word found in ``df`` of ``total`` chunks (never negative)."""
    return math.log(1 + (total - df + 0.5) / (df + 0.5))


# -- answers compared as SQuAD compares them --------------------------------------------

_PUNCTUATION = set(string.punctuation) | set("\u2018\u2019\u201c\u201d")


def normalize_answer(text: str) -> str:
    """SQuAD-style: lower case, no punctuation, no articles, white space folded."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def span_scores(span: str, gold: list[str]) -> tuple[float, float]:
    """SQuAD exact match and token F1 of a direct answer against the best gold answer."""
    best_em, best_f1 = 0.0, 0.0
    predicted = normalize_answer(span).split()
    for g in gold:
        truth = normalize_answer(g).split()
        best_em = max(best_em, float(predicted == truth and bool(truth)))
        common = sum(min(predicted.count(w), truth.count(w)) for w in set(predicted))
        if common:
            p, r = common / len(predicted), common / len(truth)
            best_f1 = max(best_f1, 2 * p * r / (p + r))
    return best_em, best_f1
