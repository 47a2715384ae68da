"""Spans of article text an answer may quote: paragraphs, the question's specifics in
them, quotations followed to their closing mark, and the best sentences of a pool."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.citations import Evidence, Verified
from rag.answer.questions import Asked
from rag.config import Settings
from rag.lexicon import PERSON_PRONOUNS
from rag.text import stem
from rag.types import Passage


@dataclass(frozen=True)
class Shaped:
    verified: Verified
    span: str | None = None


def paragraph(text: str, start: int, end: int) -> tuple[int, int]:
    """The blank-line block of ``text`` that holds ``start..end``."""
    before = text.rfind("\n\n", 0, start)
    after = text.find("\n\n", end)
    return (0 if before < 0 else before + 2), (len(text) if after < 0 else after)


def neighbourhood(passage: Passage, start: int, end: int) -> str:
    """Where what a question names must be for ``start..end`` of the passage's article to
    answer it: the paragraph holding it, or the article's title and first paragraph (a
    news story names its subject there once)."""
    text = passage.article.text
    s, e = paragraph(text, start, end)
    _, lede_end = paragraph(text, 0, 0)
    return f"{passage.article.title}\n{text[:lede_end]}\n{text[s:e]}"


_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")


def holds(asked: Asked, scope: str, near: str | None = None) -> bool:
    """Whether ``scope`` holds every specific the question names: a number as written
    ("11.5bn", "2004"); a word as a word of the same stem ("Grammys", "Grammy"), or, for
    a name of six letters or more, one letter apart ("ARPNET", "ARPANET"). A specific
    marked ``near`` must be in ``near`` (the answer's own sentence) as well; a person
    may be "he" or "she" there ("He resigned in November."), named in ``scope``."""
    wide, close = _words(scope), _words(near) if near is not None else None
    for specific in asked.specifics:
        pronoun = close is not None and specific.label == "PERSON" and \
            bool(close[0] & PERSON_PRONOUNS)
        for where in (wide, close if specific.near and not pronoun else None):
            if where is not None and not all(_has(where, k) for key in specific.keys()
                                             for k in _TOKEN.findall(key)):
                return False
    return True


_SCALED = re.compile(r"(\d[\d.,]*)[a-z]+")


def _words(text: str) -> tuple[set[str], set[str]]:
    """The text's words and their stems; an amount with its scale ("300m", "11.5bn") is
    also its number ("300", "11.5"), as a question parsed "$300m" names it."""
    found = {w.lower() for w in _TOKEN.findall(text)}
    found |= {m.group(1) for w in found if (m := _SCALED.fullmatch(w))}
    return found, {stem(w) for w in found}


def _has(where: tuple[set[str], set[str]], key: str) -> bool:
    found, stems = where
    k = key.lower()
    return k in found or (not k[:1].isdigit() and (stem(k) in stems or (
        len(k) >= 6 and any(_one_apart(k, w) for w in found))))


def _one_apart(a: str, b: str) -> bool:
    """Whether two words differ by one inserted, deleted or changed letter."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return a == b
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def ranked_sentences(evidence: Sequence[Evidence], margin: float) -> list[Evidence]:
    """The sentences within ``margin`` of the best, best first, each once."""
    if not evidence:
        return []
    best = evidence[0].score
    seen, out = set(), []
    for ev in evidence:
        if ev.score < best - margin:
            break
        if (ev.text, ev.start) in seen:  # overlapping chunks hold the same sentence
            continue
        seen.add((ev.text, ev.start))
        out.append(ev)
    return out


def extend_quote(text: str, start: int, end: int, reach: int = Settings.quote_reach
                 ) -> tuple[int, int]:
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


def quoted(quote: str) -> str:
    """A source sentence as an answer shows it: verbatim, white space folded. Quotation
    marks are only the source's own, around words a person said; a narrative sentence
    ("In contrast, NATO Secretary-General Mark Rutte said ...") is not put in marks."""
    return " ".join(quote.split())
