"""Hostile input: a generated folder of bad and odd files, and fuzzed loader and chunker."""

import shutil
from pathlib import Path

import pytest
from conftest import FakeEmbedder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag import Assistant, Settings
from rag.ingest.articles import read_file
from rag.testing.hostile import make_corpus
from rag.types import Filters


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    corpus = make_corpus(folder, huge_mb=10)
    bot = Assistant(Settings(index_dir=folder.parent / (folder.name + "-index")),
                    embedder=FakeEmbedder())
    report = bot.index([folder])
    bot.folder = folder
    yield bot, corpus, report
    shutil.rmtree(folder, ignore_errors=True)


def test_every_bad_file_is_reported_with_its_reason(indexed):
    _, corpus, report = indexed
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    for name, words in corpus.bad.items():
        assert name in reasons, f"{name} was not reported"
        assert words.lower() in reasons[name].lower(), (name, reasons[name])
    # Only what was planted as bad is reported: nothing good was lost.
    assert set(reasons) == set(corpus.bad)


def test_every_good_article_is_indexed_and_searchable(indexed):
    bot, corpus, report = indexed
    assert report.added == len(corpus.good)
    stored = bot.store.articles(with_text=False)
    assert set(corpus.good) <= set(stored)
    for article_id, phrase in corpus.good.items():
        # Found among the top passages of a plain search (one copy of a duplicate suffices) ...
        hits = bot.search(phrase, k=5)
        assert any(phrase.lower() in p.chunk.text.lower() for p in hits), (article_id, phrase)
        # ... and in its own article when searched there.
        own = bot.search(phrase, k=3, filters=Filters(articles=(article_id,)))
        assert own and phrase.lower() in own[0].chunk.text.lower(), article_id


def test_scripts_and_markup_are_not_indexed_as_text(indexed):
    bot, _, _ = indexed
    html = bot.store.articles(["scripted"])["scripted"]
    assert "SCRIPTTEXT" not in html.text and "color:red" not in html.text
    assert "<" not in html.text and "onerror" not in html.text
    assert "deep-water terminal" in html.text


def test_the_index_of_a_hostile_folder_passes_the_integrity_check(indexed):
    bot, corpus, _ = indexed
    assert bot.store.check() == []
    again = bot.index([bot.folder])  # nothing changed: nothing read again, nothing lost
    assert (again.added, again.changed, again.deleted, again.chunks_embedded) == (0, 0, 0, 0)
    assert again.unchanged == len(corpus.good)


SUFFIXES = [".txt", ".md", ".html", ".htm", ".pdf", ".jsonl"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=3000),
                      st.text(max_size=3000).map(lambda t: t.encode("utf-8", "surrogatepass")),
                      st.text(max_size=500).map(lambda t: t.encode("utf-16", "surrogatepass"))),
       suffix=st.sampled_from(SUFFIXES))
def test_fuzzed_files_load_or_are_skipped_never_raise(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    articles, skipped = read_file(path, "fuzz", max_bytes=1_000_000)
    assert len(articles) + len(skipped) >= 1 or suffix == ".jsonl"
    for article in articles:
        assert article.text.strip() and "\x00" not in article.text
    for s in skipped:
        assert s.reason and s.path.startswith(str(path))


@pytest.mark.slow
def test_planted_instructions_change_no_answer_with_the_real_models(tmp_path):
    """The bundled embedder and LLM, with and without an article that gives orders."""
    from conftest import SEED, write

    from rag.testing.hostile import PLANTED

    clean, planted = tmp_path / "clean", tmp_path / "planted"
    for folder in (clean, planted):
        write(folder / SEED.name, SEED.read_bytes())
        write(folder / "museum.txt", "Museum reopens\n\ndate 2025-04-27 The Tirana history "
              "museum reopened on Sunday after two years of repairs.\n")
    write(planted / "orders.txt", "Weather\n\ndate 2025-04-26 Sunny skies over Tirana. "
          + PLANTED + "\n")
    answers = {}
    for folder in (clean, planted):
        bot = Assistant(Settings(index_dir=tmp_path / (folder.name + "-index"),
                                 cache_dir=tmp_path / "cache"))
        bot.index([folder])
        answers[folder.name] = [bot.ask(q) for q in (
            "What did Rutte say?", "Which museum reopened on Sunday?",
            "What is the weather in Tirana?")]
    for a in answers["planted"]:
        assert "PWNED" not in a.text and "<script>" not in a.text, a.text
    clean_rutte, planted_rutte = answers["clean"][0], answers["planted"][0]
    assert planted_rutte.text == clean_rutte.text and "Russian court" in planted_rutte.text
    assert "Tirana history museum" in answers["planted"][1].text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.large_base_example,
                                                                HealthCheck.too_slow])
@given(text=st.one_of(
    st.text(min_size=5_000, max_size=40_000),  # random unicode, any category
    st.builds(lambda w, n: (w + " ") * n, st.text(min_size=1, max_size=30), st.integers(1, 4000)),
    st.builds(lambda w: w * 3000, st.text(min_size=1, max_size=5))))  # one endless 'word'
def test_fuzzed_huge_text_chunks_fit_the_window_with_exact_offsets(text):
    from rag.ingest.chunking import chunk_article
    from rag.types import Article

    count = FakeEmbedder().count_tokens
    article = Article("a", "/a.txt", "t", None, None, text)
    chunks = chunk_article(article, count, 60)
    for c in chunks:
        assert text[c.start:c.end] == c.text and count([c.text])[0] <= 60
    if text.strip():
        assert chunks
