"""How the reader sees a question and a passage, and how its logits become a span.

Shared by training (torch) and reading (NumPy), so both build exactly the same inputs:
``[CLS] question [SEP] context [SEP]`` with token type 0 for the first part and 1 for the
context and its closing ``[SEP]``. Position 0 (``[CLS]``) is the "no answer" position, as in
SQuAD 2.0 readers: the answerability score of a window is its best span's score minus the
score of starting and ending at ``[CLS]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Most word pieces of the question that are read (longer questions are cut).
MAX_QUESTION = 64
#: Most word pieces of one input, special tokens included.
MAX_LENGTH = 384
#: Longest answer span, in word pieces.
MAX_SPAN = 30


@dataclass(frozen=True)
class Window:
    """One input to the reader: token ids and types, and for each context token its
    character offsets in the context text ((-1, -1) for question and special tokens)."""

    ids: list[int]
    types: list[int]
    offsets: list[tuple[int, int]]
    context_start: int  # index of the first context token

    def __len__(self) -> int:
        return len(self.ids)


def encode(tokenizer, question: str, context: str,
           max_length: int = MAX_LENGTH) -> list[Window]:
    """The windows that cover ``context`` for ``question`` (one when it fits; else windows
    that overlap by a third). ``tokenizer`` is a ``tokenizers.Tokenizer`` without
    truncation."""
    q, c = tokenizer.encode_batch([question, context], add_special_tokens=False)
    return windows(tokenizer, q.ids[:MAX_QUESTION], c.ids, c.offsets, max_length)


def windows(tokenizer, q_ids: list[int], c_ids: list[int], c_offsets, max_length: int
            ) -> list[Window]:
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    room = max_length - len(q_ids) - 3
    stride = max(1, room - room // 3)
    out, start = [], 0
    while True:
        piece = c_ids[start:start + room]
        ids = [cls, *q_ids, sep, *piece, sep]
        types = [0] * (len(q_ids) + 2) + [1] * (len(piece) + 1)
        offsets = ([(-1, -1)] * (len(q_ids) + 2)
                   + [tuple(o) for o in c_offsets[start:start + room]] + [(-1, -1)])
        out.append(Window(ids, types, offsets, len(q_ids) + 2))
        if start + room >= len(c_ids):
            return out
        start += stride


def token_span(window: Window, char_start: int, char_end: int) -> tuple[int, int] | None:
    """The first and last tokens of ``window`` that cover characters
    ``[char_start, char_end)`` of the context, or None if the window does not hold them."""
    lo, hi = window.context_start, len(window) - 1
    if hi <= lo or window.offsets[lo][0] > char_start or window.offsets[hi - 1][1] < char_end:
        return None
    first = next(i for i in range(lo, hi) if window.offsets[i][1] > char_start)
    last = max(i for i in range(lo, hi) if window.offsets[i][0] < char_end)
    return (first, last) if last >= first else None


@dataclass(frozen=True)
class Span:
    """The best span of one window: its characters in the context, its score
    (start + end logit) and its margin over the window's "no answer" score."""

    start: int
    end: int
    score: float
    margin: float


def best_spans(window: Window, start_logits: np.ndarray, end_logits: np.ndarray,
               top: int = 1, max_span: int = MAX_SPAN) -> list[Span]:
    """The ``top`` highest-scoring spans of context tokens (end not before start, at most
    ``max_span`` pieces), best first."""
    lo, hi = window.context_start, len(window) - 1  # context tokens are [lo, hi)
    s = np.asarray(start_logits[lo:hi], dtype=np.float64)
    e = np.asarray(end_logits[lo:hi], dtype=np.float64)
    n = len(s)
    if n == 0:
        return []
    scores = s[:, None] + e[None, :]
    band = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), max_span)
    scores = np.where(band, scores, -np.inf)
    null = float(start_logits[0] + end_logits[0])
    flat = np.argsort(scores, axis=None)[::-1][:top]
    out = []
    for f in flat:
        i, j = np.unravel_index(int(f), scores.shape)
        if not np.isfinite(scores[i, j]):
            break
        best = float(scores[i, j])
        out.append(Span(window.offsets[lo + i][0], window.offsets[lo + j][1], best, best - null))
    return out


def best_span(window: Window, start_logits: np.ndarray, end_logits: np.ndarray,
              max_span: int = MAX_SPAN) -> Span:
    """The highest-scoring span of the window's context."""
    return best_spans(window, start_logits, end_logits, 1, max_span)[0]
