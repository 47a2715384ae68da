"""How answers and passages look on the page: escaped, cited, cut only at sentence ends."""

from __future__ import annotations

import html
import re
from pathlib import Path

from rag import Answer, Citation, Filters, Passage, lexicon

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|!~])")
#: Longest passage excerpt shown under a refusal (whole sentences up to this length).
EXCERPT_CHARS = 320
#: Longest heading made from an untitled article's opening words.
TITLE_CHARS = 60


def escape(text: str) -> str:
    """Article text shown as text: no HTML, no Markdown (links, images) from an article."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", " ")


def literal(text: str) -> str:
    """What a person typed, shown exactly as typed: every ASCII punctuation mark escaped
    for Markdown (lists, headings, rules, links), ``<`` ``>`` ``&`` as entities."""
    out = []
    for ch in " ".join(text.split()):
        if ch in "<>&":
            out.append(html.escape(ch))
        elif ch.isascii() and not ch.isalnum() and not ch.isspace():
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def answer_text(text: str) -> str:
    """An answer's text, escaped, its line breaks kept: a summary is a list, one cited
    sentence a line."""
    return "\n".join(escape(line) for line in text.split("\n"))


def heading(title: str, path: str = "") -> str:
    """How an article is named on the page: its title. An untitled article's stand-in
    title (its opening sentence, cut) is shortened to its first words, ending at a word
    boundary and not on a little word ("... said on Thursday that"); its file name when
    those words are not words."""
    shown = " ".join(title.split())
    if not shown.endswith("\u2026") and len(shown) <= TITLE_CHARS:
        return shown
    shown = shown.rstrip("\u2026").rstrip()
    if len(shown) > TITLE_CHARS:
        cut = shown[:TITLE_CHARS + 1]
        shown = cut[:cut.rfind(" ")] if " " in cut else cut[:TITLE_CHARS]
    kept = shown.split()
    while kept and (kept[-1].lower().strip(",;:-\u2013\u2014") in lexicon.DANGLING
                    or not kept[-1].strip(",;:-\u2013\u2014")):
        kept.pop()
    shown = " ".join(kept).rstrip(",;:-\u2013\u2014 ")
    if sum(any(c.isalpha() for c in w) for w in kept) < 2 and path:
        return Path(path).stem
    return shown or title


def render_answer(answer: Answer, filters: Filters | None = None,
                  chosen: list[str] | None = None) -> str:
    """The answer with its sources below it: one per article, quoting the passage around
    the cited sentences with each of them highlighted. A refusal while ``filters`` are
    set says which (``chosen``: the names of the articles chosen) and that widening them
    may help."""
    if answer.mode == "refused":
        lines = ["\n".join(f"**{escape(line)}**" for line in answer.text.split("\n")
                           if line.strip())]
        if filters is not None and filters.active:
            lines.append(f"\n\n{filter_note(filters, chosen or [])}")
    else:
        lines = [answer_text(answer.text)]
    if answer.notice:
        lines.append(f"\n\n<span class=\"status\">{escape(answer.notice)}</span>")
    if answer.citations:
        lines.append("\n\n**Sources**")
        lines.extend(sources(answer))
    elif answer.passages:
        lines.append("\n\n**Closest passages**")
        for p in answer.passages:
            a = p.article
            lines.append(f"\n- **{escape(heading(a.title, a.path))}** "
                         f"({a.date or 'undated'}): {escape(excerpt(p))}")
    return "\n".join(lines)


def filter_note(filters: Filters, chosen: list[str]) -> str:
    """Why a refusal under filters may be the filters' doing, naming them."""
    parts = []
    if filters.since and filters.until:
        parts.append(f"articles dated {filters.since} to {filters.until}")
    elif filters.since:
        parts.append(f"articles dated {filters.since} or later")
    elif filters.until:
        parts.append(f"articles dated {filters.until} or earlier")
    if filters.articles:
        names = "; ".join(f"\u201c{escape(n)}\u201d" for n in chosen[:3])
        more = f" and {len(filters.articles) - 3} more" if len(filters.articles) > 3 else ""
        parts.append(f"the {len(filters.articles)} chosen article"
                     f"{'s' if len(filters.articles) > 1 else ''}"
                     + (f" ({names}{more})" if names else ""))
    return ("<span class=\"filter-note\">Filters are set: only " + " and only ".join(parts)
            + " were searched. The answer may be in an article they leave out: widen or "
            "clear the filters (Filters, above) and ask again.</span>")


def sources(answer: Answer) -> list[str]:
    """One source per article: its heading with the numbers of the citations it holds,
    then the passage around them (overlapping passages merged), every cited sentence
    highlighted and numbered."""
    by_article: dict[str, list[Citation]] = {}
    for c in answer.citations:
        by_article.setdefault(c.article_id, []).append(c)
    out = []
    for article_id, cited in by_article.items():
        first = cited[0]
        anchors = "".join(f"<a id=\"src-{c.n}\"></a>" for c in cited)
        numbers = " ".join(f"[{c.n}]" for c in cited)
        quotes = "\n>\n".join(f"> {w}" for w in windows(answer, cited))
        out.append(f"\n{anchors}**{escape(numbers)} {escape(heading(first.title, first.path))}**"
                   f" ({first.date or 'undated'} \u00b7 {escape(article_id)})\n\n{quotes}")
    return out


def windows(answer: Answer, cited: list[Citation]) -> list[str]:
    """The stretches of one article that show its citations: each cited sentence with
    the sentence before and after it (where the passages hold them), stretches that
    overlap or touch made one; the cited sentences highlighted and numbered."""
    article = next((p.article for p in answer.passages if p.article.id == cited[0].article_id),
                   None)
    spans = sorted({s for p in answer.passages if p.article.id == cited[0].article_id
                    for s in p.chunk.sentences})
    if article is None or not spans:
        return [_marked(c.quote, 0, [c]) for c in sorted(cited, key=lambda c: c.start)]
    text = article.text

    def touch(a: int, b: int) -> bool:  # nothing but white space between offsets a <= b
        return not text[a:b].strip()

    stretches: list[list] = []  # [start, end, citations]
    for c in sorted(cited, key=lambda c: c.start):
        # The whole sentences the quote is in, then one more on each side.
        start = max((s for s, e in spans if s <= c.start < e), default=c.start)
        end = min((e for s, e in spans if s < c.end <= e), default=c.end)
        before = [sp for sp in spans if sp[1] <= start and touch(sp[1], start)]
        after = [sp for sp in spans if sp[0] >= end and touch(end, sp[0])]
        if before:
            start = before[-1][0]
        if after:
            end = after[0][1]
        if stretches and (start < stretches[-1][1] or touch(stretches[-1][1], start)):
            stretches[-1][1] = max(stretches[-1][1], end)
            stretches[-1][2].append(c)
        else:
            stretches.append([start, end, [c]])
    return [("\u2026 " if text[:start].strip() else "") + _marked(text[start:end], start, group)
            + (" \u2026" if text[end:].strip() else "") for start, end, group in stretches]


def _marked(text: str, offset: int, cited: list[Citation]) -> str:
    """``text`` (at ``offset`` in its article) escaped, each citation's quote in it
    highlighted and followed by its number; quotes that overlap are one highlight."""
    out, at = [], offset
    marks: list[list] = []  # [start, end, numbers]
    for c in sorted(cited, key=lambda c: c.start):
        if marks and c.start < marks[-1][1]:
            marks[-1][1] = max(marks[-1][1], c.end)
            marks[-1][2].append(c.n)
        else:
            marks.append([c.start, c.end, [c.n]])
    for s, e, numbers in marks:
        s, e = max(s, at), min(e, offset + len(text))
        out.append(escape(text[at - offset:s - offset]))
        out.append(f"<mark>{escape(text[s - offset:e - offset])}</mark>"
                   f"<sup>{escape(' '.join(f'[{n}]' for n in numbers))}</sup>")
        at = e
    out.append(escape(text[at - offset:]))
    return "".join(out)


def excerpt(p: Passage, limit: int = EXCERPT_CHARS) -> str:
    """The passage as the page lists it: ``Passage.excerpt`` at the page's length."""
    return p.excerpt(limit)


def plain_answer(answer: Answer) -> str:
    """The answer and its numbered sources as plain text (for API clients)."""
    out = [answer.text]
    for c in answer.citations:
        out.append(f"[{c.n}] {c.title} ({c.date or 'undated'}) {c.article_id}: {c.quote}")
    return "\n".join(out)
