"""Sentence-aware chunks with exact offsets into the article text.

Sentences (found by blingfire) are packed greedily into chunks of at most ``max_tokens``
word pieces, counted by the embedder's own tokenizer so nothing is truncated when embedded.
A chunk prefers to end at a paragraph break; when it has to end inside a paragraph, the
next chunk repeats the last sentence (at most one) so the thought carries over. A sentence
longer than the window is cut at word boundaries.

Invariant: ``article.text[c.start:c.end] == c.text`` for every chunk.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

from rag.types import Article, Chunk

TokenCounter = Callable[[Sequence[str]], list[int]]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")


def chunk_id(article_id: str, start: int, end: int, text: str) -> int:
    """A stable, positive 63-bit id (FAISS stores int64) for a chunk."""
    digest = hashlib.blake2b(f"{article_id}\0{start}\0{end}\0{text}".encode(),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each block of text between blank lines, whitespace trimmed."""
    spans, pos = [], 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s[0] < s[1]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets inside ``text[start:end]``, whitespace trimmed.

    Segmentation is blingfire's (a compiled, rule-based breaker: about 0.5 ms for a news
    article, 30 times faster than pysbd with the same splits on news text, which matters
    because segmentation otherwise costs a sixth of a full build).
    """
    import blingfire

    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text[start:end]):
        p_start, p_end = p_start + start, p_end + start
        cursor = p_start
        _, offsets = blingfire.text_to_sentences_and_offsets(text[p_start:p_end])
        for a, b in offsets:
            a, b = _trim(text, max(p_start + a, cursor), min(p_start + b, p_end))
            if a >= b:
                continue
            if text[cursor:a].strip():  # text the breaker skipped stays with the next span
                a = _trim(text, cursor, a)[0]
            spans.append((a, b))
            cursor = b
        if text[cursor:p_end].strip():
            spans.append(_trim(text, cursor, p_end))
    return spans


def _split_long(text: str, span: tuple[int, int], count: TokenCounter,
                max_tokens: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at word boundaries into pieces that fit the window."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[span[0]:span[1]])]
    words = [(a + span[0], b + span[0]) for a, b in words]
    sizes = count([text[a:b] for a, b in words])
    pieces: list[tuple[int, int]] = []
    piece_start, used, prev_end = None, 0, 0
    for (a, b), n in zip(words, sizes, strict=True):
        if n > max_tokens:  # a single absurd "word": cut it by characters
            if piece_start is not None:
                pieces.append((piece_start, prev_end))
                piece_start, used = None, 0
            step = max(1, max_tokens // 2)
            pieces.extend((i, min(i + step, b)) for i in range(a, b, step))
            continue
        if piece_start is not None and used + n > max_tokens:
            pieces.append((piece_start, prev_end))
            piece_start, used = None, 0
        if piece_start is None:
            piece_start = a
        used += n
        prev_end = b
    if piece_start is not None:
        pieces.append((piece_start, prev_end))
    return pieces


def chunk_article(article: Article, count: TokenCounter, max_tokens: int = 200,
                  overlap: int = 1) -> list[Chunk]:
    """Split an article into chunks of at most ``max_tokens`` word pieces.

    Args:
        article: The article to split.
        count: Returns the number of word pieces (no special tokens) of each text.
        max_tokens: Most word pieces in a chunk.
        overlap: 1 to repeat the last sentence of a chunk that ends mid-paragraph.
    """
    text = article.text
    units: list[tuple[int, int]] = []
    para_of: list[int] = []
    for p, (p_start, p_end) in enumerate(paragraph_spans(text)):
        for span in sentence_spans(text, p_start, p_end):
            units.append(span)
            para_of.append(p)
    if not units:
        return []
    sizes = count([text[a:b] for a, b in units])
    # Break over-long sentences into pieces (they stay in their paragraph).
    if max(sizes) > max_tokens:
        new_units, new_para = [], []
        for span, p, n in zip(units, para_of, sizes, strict=True):
            pieces = [span] if n <= max_tokens else _split_long(text, span, count, max_tokens)
            new_units.extend(pieces)
            new_para.extend([p] * len(pieces))
        units, para_of = new_units, new_para
        sizes = count([text[a:b] for a, b in units])

    groups = _pack(sizes, para_of, max_tokens, overlap)
    chunks = []
    for ordinal, (i, j) in enumerate(groups):
        start, end = units[i][0], units[j - 1][1]
        body = text[start:end]
        chunks.append(Chunk(id=chunk_id(article.id, start, end, body), article_id=article.id,
                            ord=ordinal, start=start, end=end, text=body,
                            sentences=tuple(units[i:j])))
    return chunks


def _pack(sizes: list[int], para_of: list[int], max_tokens: int,
          overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of units into [i, j) groups, preferring paragraph ends."""
    groups: list[tuple[int, int]] = []
    n, i = len(sizes), 0
    while i < n:
        j, used = i, 0
        while j < n and used + sizes[j] <= max_tokens:
            used += sizes[j]
            j += 1
        j = max(j, i + 1)  # every unit fits on its own after _split_long
        if j < n:
            # Step back to the last paragraph break if that keeps the chunk at least half full.
            kept = used
            for b in range(j, i + 1, -1):
                if para_of[b] != para_of[b - 1]:
                    if kept >= max_tokens // 2:
                        j = b
                    break
                kept -= sizes[b - 1]
        groups.append((i, j))
        if j >= n:
            break
        carry = (overlap and j - 1 > i and para_of[j] == para_of[j - 1]
                 and sizes[j - 1] + sizes[j] <= max_tokens and sizes[j - 1] <= max_tokens // 3)
        i = j - 1 if carry else j
    return groups
