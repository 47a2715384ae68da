import shutil

import numpy as np
import pytest
from conftest import FakeEmbedder, write, write_news

from rag.config import Settings
from rag.errors import IndexMismatch, IndexNotFound
from rag.index.build import sync
from rag.stores.opening import open_store


def counts(report):
    a = report.to_dict()["articles"]
    return (a["added"], a["changed"], a["unchanged"], a["deleted"])


@pytest.fixture
def corpus(tmp_path):
    """Four generated articles named 001-004; a fifth waits in ``pool/004.txt``."""
    pool = write_news(tmp_path / "pool", seed=3, n=5, paragraphs=6)
    folder = tmp_path / "articles"
    for i, path in enumerate(pool[:4], 1):
        shutil.copy(path, write(folder / f"{i:03d}.txt", ""))
    return folder


@pytest.fixture
def settings(tmp_path):
    return Settings(index_dir=tmp_path / "index", chunk_tokens=60)


@pytest.fixture
def both(location):
    """Settings for an index on each engine in turn (a directory, Milvus Lite)."""
    return Settings(store=str(location), chunk_tokens=60)


def test_incremental_add_change_delete_readd(corpus, both, fake_embedder):
    first = sync([corpus], both, fake_embedder)
    assert counts(first) == (4, 0, 0, 0)
    assert first.chunks_embedded == first.chunks_total > 4

    again = sync([corpus], both, fake_embedder)
    assert counts(again) == (0, 0, 4, 0) and again.chunks_embedded == 0

    shutil.copy(corpus.parent / "pool" / "004.txt", corpus / "new.txt")
    added = sync([corpus], both, fake_embedder)
    store = open_store(both.location)
    new_chunks = store.chunk_count(["new"])
    assert counts(added) == (1, 0, 4, 0)
    assert added.chunks_embedded == new_chunks  # only the new article was embedded

    (corpus / "002.txt").write_text((corpus / "002.txt").read_text() + "\nA late update.\n")
    changed = sync([corpus], both, fake_embedder)
    assert counts(changed) == (0, 1, 4, 0)
    assert 0 < changed.chunks_embedded < changed.chunks_total

    saved = (corpus / "003.txt").read_bytes()
    (corpus / "003.txt").unlink()
    deleted = sync([corpus], both, fake_embedder)
    assert counts(deleted) == (0, 0, 4, 1) and deleted.chunks_embedded == 0
    store = open_store(both.location)
    assert "003" not in store.articles() and store.check() == []

    (corpus / "003.txt").write_bytes(saved)
    readded = sync([corpus], both, fake_embedder)
    assert counts(readded) == (1, 0, 4, 0)
    store = open_store(both.location)
    assert readded.chunks_total == first.chunks_total + new_chunks + (
        changed.chunks_total - added.chunks_total)
    ids = store.chunk_ids()
    assert len(ids) == len(set(ids)) == len(store.vector_ids()) == readded.chunks_total
    assert store.check() == []


def test_other_folders_are_left_alone(corpus, both, fake_embedder, tmp_path):
    other = write(tmp_path / "other" / "x.txt", "Another story about ports.\n").parent
    sync([corpus], both, fake_embedder)
    report = sync([other], both, fake_embedder)
    assert counts(report) == (1, 0, 0, 0)
    assert set(open_store(both.location).articles()) == {"001", "002", "003", "004", "x"}


def test_same_stem_in_one_folder_gets_distinct_ids(tmp_path, both, fake_embedder):
    write(tmp_path / "a" / "story.txt", "Text version.\n")
    write(tmp_path / "a" / "story.md", "Markdown version.\n")
    sync([tmp_path / "a"], both, fake_embedder)
    assert sorted(open_store(both.location).articles()) == ["story", "story.txt"]


def test_a_file_that_turns_bad_keeps_its_previous_version(corpus, both, fake_embedder):
    sync([corpus], both, fake_embedder)
    (corpus / "001.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = sync([corpus], both, fake_embedder)
    assert "previously indexed version is kept" in report.skipped[0].reason
    assert "001" in open_store(both.location).articles()


def test_embedder_mismatch_is_refused_until_rebuild(corpus, both, fake_embedder):
    sync([corpus], both, fake_embedder)

    class Other(FakeEmbedder):
        model_id = "another-model"

    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        sync([corpus], both, Other())
    with pytest.raises(IndexMismatch, match="chunker"):
        sync([corpus], both.with_(chunk_tokens=100), fake_embedder)
    report = sync([corpus], both, Other(), rebuild=True)
    assert counts(report) == (4, 0, 0, 0)
    assert open_store(both.location).manifest.embedder_id == "another-model"


def test_missing_index_names_the_command(location):
    with pytest.raises(IndexNotFound, match="rag index seeds/"):
        open_store(location)


def test_old_generations_are_collected(corpus, settings, fake_embedder):
    for i in range(5):
        write(corpus / f"n{i}.txt", f"Story number {i} about trade.\n")
        sync([corpus], settings, fake_embedder)
    gens = sorted(p.name for p in settings.index_dir.iterdir() if p.name.startswith("gen-"))
    assert len(gens) <= 3 and (settings.index_dir / "CURRENT").read_text().strip() == gens[-1]


def test_each_sentence_gets_a_vector_and_check_notices_a_missing_one(corpus, settings,
                                                                     fake_embedder):
    report = sync([corpus], settings, fake_embedder)
    store = open_store(settings.index_dir)
    sentences = sum(len(c.sentences) for c in store.chunks(store.chunk_ids()).values())
    assert report.sentences_embedded == sentences > report.chunks_embedded
    assert report.to_dict()["sentences_embedded"] == sentences
    cid = store.chunk_ids()[0]
    chunk = store.chunks([cid])[cid]
    first = store.articles([chunk.article_id])[chunk.article_id].text[
        slice(*chunk.sentences[0])]
    [vectors] = store.sentence_vectors([cid]).values()
    assert len(vectors) == len(chunk.sentences)
    cosine = vectors[0] @ fake_embedder.embed_batch([first])[0]
    assert cosine == pytest.approx(1.0, abs=1e-3)  # float16 storage
    assert store.check() == []
    store.close()
    live = settings.index_dir / (settings.index_dir / "CURRENT").read_text().strip()
    import sqlite3
    with sqlite3.connect(live / "store.sqlite") as db:
        db.execute("DELETE FROM sentence_vectors WHERE chunk_id = ?", (cid,))
    assert open_store(settings.index_dir).check() == ["1 chunks lack one vector per sentence"]


def test_an_index_in_an_older_format_is_rebuilt_by_the_next_run(corpus, settings,
                                                                fake_embedder, tmp_path):
    import json
    other = write(tmp_path / "other" / "x.txt", "Another story about ports.\n").parent
    sync([other], settings, fake_embedder)
    sync([corpus], settings, fake_embedder)
    live = settings.index_dir / (settings.index_dir / "CURRENT").read_text().strip()
    manifest = json.loads((live / "manifest.json").read_text())
    (live / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 1}))
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        open_store(settings.index_dir)
    report = sync([corpus], settings, fake_embedder)
    assert counts(report) == (5, 0, 0, 0)  # the other folder it held is rebuilt too
    store = open_store(settings.index_dir)
    assert "x" in store.articles() and store.check() == []


def test_an_index_whose_sentence_vectors_were_made_another_way_is_rebuilt(
        corpus, both, fake_embedder, tmp_path, monkeypatch):
    import rag.index.build
    from rag.assistant import Assistant

    other = write(tmp_path / "other" / "x.txt", "Another story about ports.\n").parent
    monkeypatch.setattr(rag.index.build, "SENTENCE_VECTORS", "each sentence embedded again")
    sync([other], both, fake_embedder)
    sync([corpus], both, fake_embedder)
    monkeypatch.undo()
    # Asking names the fix; the next index run makes it, the other folder included.
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        Assistant(both, embedder=fake_embedder).search("ports")
    report = sync([corpus], both, fake_embedder)
    assert counts(report) == (5, 0, 0, 0)
    store = open_store(both.location)
    assert store.manifest.chunker["sentence_vectors"] == rag.index.build.SENTENCE_VECTORS
    assert "x" in store.articles() and store.check() == []
    store.close()
    # A setting the user changed is still refused, not silently rebuilt.
    with pytest.raises(IndexMismatch, match="chunker"):
        sync([corpus], both.with_(chunk_tokens=100), fake_embedder)


def test_repeated_texts_are_embedded_once_and_keep_their_order():
    from rag.index.embedding import embed

    embedder = FakeEmbedder()
    texts = ["Dock workers strike.", "Pay talks fail.", "Dock workers strike.", "A third."]
    vectors = embed(embedder, texts, batch_size=2)
    assert embedder.embedded == 3
    assert vectors.shape == (4, embedder.dimension)
    np.testing.assert_array_equal(vectors, FakeEmbedder().embed_batch(texts))
    assert embed(embedder, []).shape == (0, embedder.dimension)


def test_a_change_re_embeds_only_the_chunks_it_moved(corpus, settings, fake_embedder):
    sync([corpus], settings, fake_embedder)
    store = open_store(settings.index_dir)

    def chunks_of(store, article_id):
        return {r[0]: r[1] for r in store.db.execute(
            "SELECT id, text FROM chunks WHERE article_id = ?", (article_id,))}

    before = chunks_of(store, "002")
    old_vectors = {i: store.vectors.reconstruct(i) for i in before}
    old_sentences = store.sentence_vectors(before)
    store.close()
    assert len(before) >= 4

    # A paragraph added at the end (a live story updated): the chunks before it stay.
    path = corpus / "002.txt"
    path.write_text(path.read_text() + "\nA late update came in on Friday evening.\n")
    report = sync([corpus], settings, fake_embedder)
    store = open_store(settings.index_dir)
    after = chunks_of(store, "002")
    kept = set(before) & set(after)
    assert len(kept) >= len(before) - 2
    assert report.chunks_embedded == len(after) - len(kept)
    assert report.sentences_embedded < sum(len(c.sentences)
                                           for c in store.chunks(after).values())
    for i in kept:
        np.testing.assert_array_equal(store.vectors.reconstruct(i), old_vectors[i])
        np.testing.assert_array_equal(store.sentence_vectors([i])[i], old_sentences[i])
    new = [i for i in after if i not in kept]
    fresh = FakeEmbedder().embed_batch([after[i] for i in new])
    np.testing.assert_allclose(np.stack([store.vectors.reconstruct(i) for i in new]), fresh,
                               atol=1e-6)
    assert store.check() == []
    store.close()

    # A sentence added at the start of the text moves every offset: all embedded again.
    title, body = path.read_text().split("\n", 1)
    path.write_text(f"{title}\nEarlier this week, markets were calm.{body}")
    report = sync([corpus], settings, fake_embedder)
    store = open_store(settings.index_dir)
    assert report.chunks_embedded == len(chunks_of(store, "002"))
    assert store.check() == []
    store.close()


def test_a_chunk_missing_from_a_damaged_index_is_embedded_again(corpus, settings,
                                                               fake_embedder):
    import faiss

    sync([corpus], settings, fake_embedder)
    live = settings.index_dir / (settings.index_dir / "CURRENT").read_text().strip()
    store = open_store(settings.index_dir)
    [first] = store.db.execute(
        "SELECT id FROM chunks WHERE article_id = '002' ORDER BY ord LIMIT 1").fetchone()
    store.close()
    vectors = faiss.read_index(str(live / "vectors.faiss"))
    vectors.remove_ids(np.array([first], dtype=np.int64))
    faiss.write_index(vectors, str(live / "vectors.faiss"))

    path = corpus / "002.txt"
    path.write_text(path.read_text() + "\nA late update came in on Friday evening.\n")
    report = sync([corpus], settings, fake_embedder)
    store = open_store(settings.index_dir)
    assert report.chunks_embedded >= 2  # the damaged chunk and the one that changed
    np.testing.assert_allclose(store.vectors.reconstruct(int(first)),
                               FakeEmbedder().embed_batch([store.chunks([first])[first].text])[0],
                               atol=1e-6)
    assert store.check() == []
    store.close()


def test_remove_takes_exactly_one_file_out_and_can_delete_it(tmp_path, both, fake_embedder):
    from rag.errors import ArticleNotFound
    from rag.index.build import remove

    folder = tmp_path / "news"
    write(folder / "a.txt", "Ferries to Hull start in May, the operator said.\n")
    write(folder / "b.txt", "The harbour strike in Rotterdam ended on Friday.\n")
    write(folder / "feed.jsonl", '{"title": "One", "text": "First feed story about rail."}\n'
          '{"title": "Two", "text": "Second feed story about roads."}\n')
    sync([folder], both, fake_embedder)
    with pytest.raises(ArticleNotFound):
        remove(both, "A")  # ids are exact
    kept = remove(both, "a")  # the index only: the file stays
    assert kept.articles == ("a",) and kept.chunks == 1 and not kept.file_deleted
    assert (folder / "a.txt").exists()
    store = open_store(both.location)
    assert store.check() == [] and "a" not in store.articles(with_text=False)
    gone = remove(both, "feed#1", delete_file=True)  # a feed goes as a whole
    assert sorted(gone.articles) == ["feed#1", "feed#2"] and not (folder / "feed.jsonl").exists()
    store = open_store(both.location)
    assert store.check() == [] and set(store.articles(with_text=False)) == {"b"}
    assert counts(sync([folder], both, fake_embedder)) == (1, 0, 1, 0)  # a.txt is back


def test_remove_leaves_both_as_they_were_when_the_file_cannot_go(tmp_path, both,
                                                                 fake_embedder, monkeypatch):
    from pathlib import Path

    from rag.errors import RagError
    from rag.index.build import remove

    folder = tmp_path / "news"
    write(folder / "a.txt", "Ferries to Hull start in May, the operator said.\n")
    sync([folder], both, fake_embedder)
    before = open_store(both.location).fingerprint()

    def refuse(self, missing_ok=False):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(RagError, match="Nothing was removed"):
        remove(both, "a", delete_file=True)
    monkeypatch.undo()
    after = open_store(both.location)
    assert (folder / "a.txt").exists() and after.fingerprint() == before and after.check() == []


def test_a_view_keeps_reading_its_whole_state_while_the_index_changes(corpus, both,
                                                                     fake_embedder):
    """A reader never sees an article's old and new chunks together: the view it opened
    reads that generation whole until it opens the new one."""
    import time

    from rag.stores.milvus import POINTER_TTL

    sync([corpus], both, fake_embedder)
    old = open_store(both.location)
    before = old.fingerprint()
    old_ids = set(old.chunk_ids("002"))
    (corpus / "002.txt").write_text((corpus / "002.txt").read_text() + "\nA late update.\n")
    (corpus / "003.txt").unlink()
    sync([corpus], both, fake_embedder)
    time.sleep(POINTER_TTL)
    assert not old.is_current()
    assert old.fingerprint() == before and old.check() == []
    assert set(old.chunk_ids("002")) == old_ids and "003" in old.articles(with_text=False)
    new = open_store(both.location)
    assert new.is_current() and new.check() == [] and new.fingerprint() != before
    assert "003" not in new.articles(with_text=False) and set(new.chunk_ids("002")) != old_ids
    assert "late update" in new.articles(["002"])["002"].text
    assert "late update" not in old.articles(["002"])["002"].text
