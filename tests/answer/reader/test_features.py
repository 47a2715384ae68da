"""How the reader sees a question and a passage, and how its logits become spans
(rag.answer.reader.features)."""

import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader import features
from rag.answer.reader.model import load_tokenizer
from rag.index import bundled_model_path

ROOT = Path(__file__).resolve().parents[3]
PAIRS = json.loads((ROOT / "tests" / "data" / "reader_pairs.json").read_text())["pairs"]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(bundled_model_path())


def test_a_long_context_is_read_in_overlapping_windows_that_keep_every_offset(tokenizer):
    context = " ".join(f"Sentence {i} says the port of Rotterdam handled {i} ships." for i in
                       range(120))
    wins = features.encode(tokenizer, "How many ships did the port handle?", context)
    assert len(wins) > 1 and all(len(w) <= features.MAX_LENGTH for w in wins)
    for w in wins:
        assert w.ids[0] == tokenizer.token_to_id("[CLS]") and w.types[0] == 0
        assert set(w.types[w.context_start:]) == {1}
        for i in range(w.context_start, len(w) - 1):
            s, e = w.offsets[i]
            assert tokenizer.decode([w.ids[i]]).replace("##", "") == context[s:e].lower()
    # consecutive windows overlap, and together they reach the end of the context
    assert wins[1].offsets[wins[1].context_start][0] < wins[0].offsets[-2][1]
    assert wins[-1].offsets[-2][1] == len(context)


def test_an_answer_maps_to_its_tokens_only_in_a_window_that_holds_it(tokenizer):
    context = "The strike began on Monday. Dock workers in Rotterdam want more pay."
    [w] = features.encode(tokenizer, "Where?", context)
    at = context.index("Rotterdam")
    s, e = features.token_span(w, at, at + len("Rotterdam"))
    assert context[w.offsets[s][0]:w.offsets[e][1]] == "Rotterdam"
    short = features.windows(tokenizer, [], tokenizer.encode(context[:20],
                             add_special_tokens=False).ids,
                             tokenizer.encode(context[:20], add_special_tokens=False).offsets,
                             64)[0]
    assert features.token_span(short, at, at + 9) is None


@pytest.mark.parametrize("top", [1, 3])
def test_the_best_spans_are_ranked_and_no_longer_than_the_limit(tokenizer, top):
    context = "Alpha beta gamma delta epsilon zeta eta theta."
    [w] = features.encode(tokenizer, "Which?", context)
    n = len(w)
    start, end = np.zeros(n), np.zeros(n)
    start[w.context_start + 1], end[w.context_start + 2] = 5.0, 4.0  # "beta gamma"
    start[0] = end[0] = 1.0  # "no answer" scores 2
    spans = features.best_spans(w, start, end, top)
    assert len(spans) == top
    assert context[spans[0].start:spans[0].end] == "beta gamma"
    assert spans[0].score == 9.0 and spans[0].margin == 7.0
    assert all(a.score >= b.score for a, b in zip(spans, spans[1:], strict=False))
    # a long span is never chosen, however high its ends score
    start[:], end[:] = 0.0, 0.0
    start[w.context_start], end[len(w) - 2] = 9.0, 9.0
    assert features.best_span(w, start, end, max_span=2).end - \
        features.best_span(w, start, end, max_span=2).start < len(context)
