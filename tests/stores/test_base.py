"""Both engines through the ``Store`` interface: what retrieval, answering, indexing and
the check ask of any engine, in plain words. Every test runs on the embedded engine and
on a real Milvus Lite server."""

import numpy as np
import pytest
from conftest import write

from rag import Settings
from rag.index.build import sync
from rag.stores.base import Manifest
from rag.stores.opening import open_store
from rag.types import Filters


@pytest.fixture
def store(tmp_path, fake_embedder, location):
    folder = tmp_path / "articles"
    write(folder / "ports.txt", "date 2025-04-10 Dock workers in Rotterdam went on strike "
          "over pay. The union said dock workers walked out.\n")
    write(folder / "talks.txt", "date 2025-05-01 Talks resumed in Geneva on Monday. "
          "Negotiators said the strike of the talks was over.\n")
    write(folder / "feed.jsonl", '{"id": "f1", "title": "Undated", "text": "A feed item '
          'about harbours and shipping lanes."}\n')
    settings = Settings(store=str(location))
    sync([folder], settings, fake_embedder)
    opened = open_store(settings.location)
    yield opened
    opened.close()


def test_articles_chunks_and_counts_in_plain_words(store):
    articles = store.articles(with_text=False)
    assert set(articles) == {"ports", "talks", "feed#f1"} and articles["ports"].text == ""
    paths = store.article_paths()
    assert store.file_articles(paths["feed#f1"]) == ["feed#f1"]
    ids = store.chunk_ids()
    assert len(ids) == store.count("chunks") == store.manifest.counts.chunks
    assert store.chunk_ids("ports") == [c for c in ids if store.chunks([c])[c].article_id
                                        == "ports"]
    assert store.chunk_count(["ports", "talks"]) == len(ids) - store.chunk_count(["feed#f1"])
    assert store.undated_count() == 1
    assert set(store.file_hashes()) == set(paths.values())


def test_lexical_search_by_words_phrases_and_document_frequency(store):
    by_words = store.search_words(["strike", "geneva"], 10)
    assert {store.chunks([c])[c].article_id for c, _ in by_words} == {"ports", "talks"}
    assert by_words == sorted(by_words, key=lambda hit: -hit[1])
    # The pair "dock workers" as written is only in one article.
    [(cid, _)] = store.search_phrases([("dock", "workers")], 10)
    assert store.chunks([cid])[cid].article_id == "ports"
    # Milvus (Lite has no phrase match) needs both words, in any order.
    reversed_pair = store.search_phrases([("workers", "dock")], 10)
    assert reversed_pair == [] if getattr(store, "exact_phrases", True) else \
        [hit[0] for hit in reversed_pair] == [cid]
    assert store.search_phrases([("dock", "geneva")], 10) == []
    assert store.document_frequency("strike") == len(store.chunks_containing("strike")) == 2
    assert store.document_frequency("nowhere") == 0 and store.search_words([], 5) == []
    # Words are plain text: quotes and operators are not syntax.
    assert store.search_words(['"nowhere', "OR", "NOT)"], 5) == []
    assert len(store.search_words(['"dock"'], 5)) == 1


def test_filters_apply_inside_dense_and_lexical_search(store, fake_embedder):
    q = fake_embedder.embed_batch(["strike"])[0]
    may = Filters(since="2025-05-01")
    assert {store.chunks([c])[c].article_id for c, _ in store.search_dense(q, 10, may)} == {
        "talks"}
    assert {store.chunks([c])[c].article_id for c, _ in store.search_words(["strike"], 10,
                                                                           may)} == {"talks"}
    assert store.search_dense(q, 10, Filters(articles=("nope",))) == []


def test_vectors_and_sentence_vectors_by_chunk(store, fake_embedder):
    ids = store.chunk_ids()
    vectors = store.chunk_vectors(ids)
    assert set(vectors) == set(ids) == store.vector_ids()
    q = fake_embedder.embed_batch(["harbours"])[0]
    scores = store.dense_scores(q, ids)
    assert scores == pytest.approx({i: float(vectors[i] @ q) for i in ids})
    rows = store.sentence_vector_rows()
    for cid, chunk in store.chunks(ids).items():
        assert rows[cid] == len(chunk.sentences) == len(store.sentence_vectors([cid])[cid])
    assert store.chunk_vectors([12345]) == {}


def test_typed_manifest_round_trips_and_the_check_is_clean(store):
    m = store.manifest
    assert isinstance(m, Manifest) and Manifest.from_dict(m.to_dict()) == m
    assert m.generation == store.generation and m.dimension == len(
        next(iter(store.chunk_vectors(store.chunk_ids()[:1]).values())))
    assert store.check() == [] and len(store.fingerprint()) == 64
    assert store.is_current()


def test_the_check_and_fingerprint_see_a_changed_chunk(store, location):
    import sqlite3

    before = store.fingerprint()
    cid = store.chunk_ids()[0]
    if hasattr(store, "client"):  # Milvus: change the stored row behind the engine's back
        store.client.upsert(store.address.chunks, [{"pk": f"{cid}:{store.number}",
                                                    "text": "changed"}], partial_update=True)
    else:
        with sqlite3.connect(store.path / "store.sqlite") as db:
            db.execute("UPDATE chunks SET text = 'changed' WHERE id = ?", (cid,))
    changed = open_store(location)
    assert "1 chunks differ from their article's text at their offsets" in changed.check()
    assert changed.fingerprint() != before
    assert np.isfinite(list(changed.dense_scores(np.ones(changed.manifest.dimension),
                                                 [cid]).values())[0])
