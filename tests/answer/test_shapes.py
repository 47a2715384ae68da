"""Answers shaped from whole sentences: overviews and summaries (what someone said is
``test_speech.py``'s)."""

import re

import numpy as np

from rag.answer import parser as nlp
from rag.answer import shapes
from rag.answer.citations import Evidence
from rag.answer.questions import classify
from rag.answer.shapes import coverage
from rag.ingest.chunking import sentence_spans
from rag.types import Article, Chunk, Passage


def story(text, scores, article_id="a"):
    """One article as one passage, its sentences scored as given (best first)."""
    spans = tuple(sentence_spans(text))
    a = Article(article_id, f"/{article_id}.txt", "Title", "2025-01-01", None, text)
    p = Passage(Chunk(1, article_id, 0, 0, len(text), text, spans), a, 1.0)
    evidence = [Evidence(0, s, e, text[s:e], sc, sc, sc) for (s, e), sc in
                zip(spans, scores, strict=True)]
    return [p], sorted(evidence, key=lambda ev: -ev.score)


def asked(question):
    return classify(question, nlp.parse([question])[0])


def test_a_summary_starts_with_the_lede_and_keeps_the_article_s_order():
    text = ("Federated is to buy May for $11bn. It creates the largest chain in the US. "
            "About 1,000 stores will trade. Shares rose. Analysts were wary.")
    passages, evidence = story(text, [0.4, 0.9, 0.8, 0.3, 0.2])
    vectors = {("a", ev.start): np.eye(5, dtype=np.float32)[i]
               for i, ev in enumerate(sorted(evidence, key=lambda ev: ev.start))}
    shaped = coverage(evidence, passages, vectors, 3, lede=True)
    quotes_ = [c.quote for c in shaped.verified.citations]
    assert quotes_[0] == "Federated is to buy May for $11bn." and len(quotes_) == 3
    assert [c.start for c in shaped.verified.citations] == sorted(
        c.start for c in shaped.verified.citations)
    assert shaped.verified.text.startswith("- Federated is to buy May for $11bn. [1]\n- ")


def test_a_summary_tells_the_beginning_middle_and_end_of_the_story():
    sentences = [f"Paragraph {i} of the port story says something new about ships."
                 for i in range(12)]
    sentences.insert(6, "The crosshead")
    text = "\n\n".join(sentences)
    # The opening sentences are the most like the question, as a title's words are.
    passages, evidence = story(text, [1.0 - i / 20 for i in range(13)])
    vectors = {("a", ev.start): np.eye(13, dtype=np.float32)[k]
               for k, ev in enumerate(sorted(evidence, key=lambda ev: ev.start))}
    shaped = shapes.story(evidence, passages, vectors, 4)
    cites = shaped.verified.citations
    assert [c.n for c in cites] == [1, 2, 3, 4]
    assert all(c.quote == text[c.start:c.end] for c in cites)
    firsts = [int(re.search(r"Paragraph (\d+)", c.quote)[1]) for c in cites]
    # The lede, then one from each third of the rest (paragraphs 1-4, 5-7, 8-11).
    assert firsts[0] == 0 and firsts[1] <= 4 and 5 <= firsts[2] <= 7 and firsts[3] >= 8
    assert "crosshead" not in shaped.verified.text
    lines = shaped.verified.text.split("\n")
    assert len(lines) == 4 and all(re.fullmatch(r"- .+ \[\d\]", line) for line in lines)
