"""Which one of a numbered thing a question asks about, and answers said of another one.

A question may name one of a series by its number: "Who won Super Bowl 50?", "Who won the
men's 100m?", "the Apollo 11 crew". A name of the series followed by a number (digits or
a Roman numeral: "Super Bowl XX", "Apollo 13") or a distance or weight written as one word
("200m", "50km") names *which one*. An answer whose own clause names another one of the
same series, and not the asked one, is said of that other one ("a Super Bowl record set by
the Chicago Bears in Super Bowl XX"; "Kenteris won 200m gold") and is no answer. Months
and week days are left to the date rules; amounts with a currency sign ("$100m") are
amounts, not distances.
"""

from __future__ import annotations

import re

from .entities import MONTHS
from .text import STOPWORDS, stem

_NAMED = re.compile(r"\b([A-Z][A-Za-z]+)\s+(\d{1,4}|[IVXLC]{1,7})\b")
_UNIT = re.compile(r"(?<![\w$\u00a3\u20ac.,])(\d{1,5}(?:\.\d+)?)([a-z]{1,2})\b")
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_CALENDAR = MONTHS | frozenset(
    "monday tuesday wednesday thursday friday saturday sunday".split())
_CLAUSES = frozenset({"advcl", "ccomp", "relcl", "parataxis", "conj", "csubj"})


def _value(text: str) -> float | None:
    if text[:1].isdigit():
        return float(text)
    values = [_ROMAN[c] for c in text]
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v
                for i, v in enumerate(values))
    return float(total) if total > 0 else None


def numbered(text: str) -> set[tuple[str, float]]:
    """The numbered names ``text`` gives, as (stem of the series' word, number):
    "Super Bowl 50" -> ("bowl", 50); "the men's 100m" -> ("m", 100)."""
    found = set()
    for word, num in _NAMED.findall(text):
        low = word.lower()
        if low in STOPWORDS or low in _CALENDAR or (value := _value(num)) is None:
            continue
        found.add((stem(low), value))
    for num, unit in _UNIT.findall(text):
        if unit not in ("st", "nd", "rd", "th", "s"):  # "21st", "1990s"
            found.add((unit, float(num)))
    return found


def said_of_another(entity, asked: set[tuple[str, float]]) -> bool:
    """Whether the clause ``entity`` belongs to names another one of a series the question
    names by number (``numbered`` of the question), and not the asked one."""
    if not asked:
        return False
    head = entity.root
    while head.pos_ not in ("VERB", "AUX") and head.head is not head:
        head = head.head
    # Clauses of their own within it are left out, but for one that describes the entity
    # ("Kenteris, who won the men's 200m title, and Thanou, who won ...").
    own = {t.i for t in entity}
    skip = {t.i for c in head.subtree if c is not head and c.dep_ in _CLAUSES
            and c.pos_ in ("VERB", "AUX") and c.head.i not in own for t in c.subtree}
    text = "".join(t.text_with_ws for t in head.subtree if t.i not in skip)
    here = numbered(text)
    series = {word for word, _ in asked}
    return not here & asked and any(word in series for word, _ in here)
