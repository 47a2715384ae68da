from conftest import SEED, FakeEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.articles import read_file
from rag.ingest.chunking import chunk_article, chunk_id, sentence_spans
from rag.types import Article

count = FakeEmbedder().count_tokens


def art(text: str) -> Article:
    return Article(id="a", path="/a.txt", title="t", date=None, source=None, text=text)


text_strategy = st.lists(
    st.one_of(
        st.text(min_size=0, max_size=80),
        st.sampled_from(["Mr. Smith said so.", "\n\n", "  ", "Dr. No!", "3.5 percent.",
                         "\u201cQuoted.\u201d", "a" * 300, "\t\n", "e.g. this", "?!"])),
    max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=text_strategy, max_tokens=st.integers(16, 120), overlap=st.sampled_from([0, 1]))
def test_offsets_are_exact_and_chunks_fit(text, max_tokens, overlap):
    article = art(text)
    chunks = chunk_article(article, count, max_tokens, overlap)
    for c in chunks:
        assert article.text[c.start:c.end] == c.text
        assert c.text.strip() == c.text and c.text
        assert count([c.text])[0] <= max_tokens
        assert all(c.start <= s < e <= c.end for s, e in c.sentences)
        assert c.sentences[0][0] == c.start and c.sentences[-1][1] == c.end
    # Every non-space character of the article is in some chunk.
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    # Consecutive chunks share at most one sentence.
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert len(set(a.sentences) & set(b.sentences)) <= overlap
        assert b.start >= a.start


def test_seed_chunks_respect_the_window_and_sentences():
    [article], _ = read_file(SEED, SEED.stem, 10**7)
    chunks = chunk_article(article, count, 60, 1)
    assert len(chunks) > 5
    for c in chunks:
        assert article.text[c.start:c.end] == c.text
        assert count([c.text])[0] <= 60
    rutte = [c for c in chunks if "Russian court" in c.text]
    assert rutte and any(article.text[s:e].startswith("\u201cThe balls are clearly")
                         for c in rutte for s, e in c.sentences)


def test_chunks_prefer_paragraph_breaks():
    para = "One two three four five. Six seven eight nine ten."  # 12 tokens
    text = "\n\n".join([para] * 4)
    chunks = chunk_article(art(text), count, 30, 1)
    # Two paragraphs (24 tokens) fit; the cut falls on the break, with no overlap.
    assert [c.text for c in chunks] == [para + "\n\n" + para] * 2


def test_overlap_repeats_one_sentence_when_cutting_inside_a_paragraph():
    text = " ".join(f"Sentence number {i} is here." for i in range(12))  # 6 tokens each
    chunks = chunk_article(art(text), count, 20, 1)
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.sentences[-1] == b.sentences[0]


def test_a_sentence_longer_than_the_window_is_split_at_words():
    text = " ".join(["word"] * 100) + "."
    chunks = chunk_article(art(text), count, 30, 0)
    assert len(chunks) >= 4
    assert all(count([c.text])[0] <= 30 for c in chunks)
    assert all(not c.text.startswith("ord") for c in chunks)


def test_sentence_spans_handle_abbreviations():
    text = "Mr. Smith met Dr. Jones at 3 p.m. on Friday. They talked."
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "Mr. Smith met Dr. Jones at 3 p.m. on Friday.", "They talked."]


def test_chunk_ids_are_stable_and_positive():
    a = chunk_id("x", 0, 5, "hello")
    assert a == chunk_id("x", 0, 5, "hello") and 0 < a < 2**63
    assert a != chunk_id("y", 0, 5, "hello")
