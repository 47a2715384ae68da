"""How answers and passages look on the page: escaped, cited, cut only at sentence ends."""

from __future__ import annotations

import html
import re

from rag.types import Answer, Citation, Passage

_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|!~])")
#: Longest passage excerpt shown under a refusal (whole sentences up to this length).
EXCERPT_CHARS = 320


def escape(text: str) -> str:
    """Article text shown as text: no HTML, no Markdown (links, images) from an article."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", " ")


def render_answer(answer: Answer) -> str:
    """The answer with its numbered sources below it, each quoting the cited passage with
    the cited sentence highlighted."""
    lines = [escape(answer.text) if answer.mode != "refused" else f"**{escape(answer.text)}**"]
    if answer.notice:
        lines.append(f"\n\n<span class=\"status\">{escape(answer.notice)}</span>")
    if answer.citations:
        lines.append("\n\n**Sources**")
        for c in answer.citations:
            lines.append(f"\n<a id=\"src-{c.n}\"></a>**[{c.n}] {escape(c.title)}** "
                         f"({c.date or 'undated'} \u00b7 {escape(c.article_id)})\n\n"
                         f"> {in_context(answer, c)}")
    elif answer.passages:
        lines.append("\n\n**Closest passages**")
        for p in answer.passages:
            a = p.article
            lines.append(f"\n- **{escape(a.title)}** ({a.date or 'undated'}): "
                         f"{escape(excerpt(p))}")
    return "\n".join(lines)


def excerpt(p: Passage, limit: int = EXCERPT_CHARS) -> str:
    """The passage's first whole sentences up to ``limit`` characters; a first sentence
    longer than that is cut at a word and marked with an ellipsis, never mid-word."""
    text = p.article.text
    spans = list(p.chunk.sentences) or [(p.chunk.start, p.chunk.end)]
    end = spans[0][1]
    for _, e in spans[1:]:
        if e - spans[0][0] > limit:
            break
        end = e
    shown = " ".join(text[spans[0][0]:end].split())
    if len(shown) <= limit:
        return shown + (" \u2026" if end < p.chunk.end else "")
    cut = shown.rfind(" ", 0, limit)
    return shown[:cut if cut > 0 else limit].rstrip(" ,;:") + " \u2026"


def in_context(answer: Answer, c: Citation) -> str:
    """The cited sentence highlighted, between the sentences around it in its passage."""
    for p in answer.passages:
        if p.article.id == c.article_id and p.chunk.start <= c.start and c.end <= p.chunk.end:
            spans = list(p.chunk.sentences)
            i = next((k for k, (s, _) in enumerate(spans) if s >= c.start), 0)
            j = next((k for k, (_, e) in enumerate(spans) if e >= c.end), len(spans) - 1)
            t = p.article.text
            before = t[spans[i - 1][0]:c.start] if i > 0 else ""
            after = t[c.end:spans[j + 1][1]] if j + 1 < len(spans) else ""
            return (("\u2026 " if i > 1 else "") + escape(before) + "<mark>" + escape(c.quote)
                    + "</mark>" + escape(after) + (" \u2026" if j + 2 < len(spans) else ""))
    return f"<mark>{escape(c.quote)}</mark>"


def plain_answer(answer: Answer) -> str:
    """The answer and its numbered sources as plain text (for API clients)."""
    out = [answer.text]
    for c in answer.citations:
        out.append(f"[{c.n}] {c.title} ({c.date or 'undated'}) {c.article_id}: {c.quote}")
    return "\n".join(out)
