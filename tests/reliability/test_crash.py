"""Crash safety: kill -9 index rebuilds, then open the index (short version of bench/crash.py)."""

import sqlite3

import pytest
from conftest import write

from rag.index.build import sync
from rag.stores.embedded import current_generation
from rag.stores.opening import open_store
from rag.testing.crash import Trials


def test_killed_rebuilds_leave_the_old_or_the_new_state(tmp_path):
    trials = Trials(tmp_path, seed=11)
    outcomes = [trials.trial("timer") for _ in range(6)]
    # Kills at spread-out lines of the commit, the last one after the switch of CURRENT.
    outcomes += [trials.trial("line", at) for at in (0.05, 0.3, 0.5, 0.7, 0.9, 1.0)]
    r = trials.results
    assert (r.trials, r.corrupt, r.half_updated) == (12, 0, 0), r.problems
    assert outcomes[-1] == "new" and "old" in outcomes[6:], outcomes
    assert trials.recovers()


def damaged(tmp_path, fake_embedder, sql):
    folder = tmp_path / "news"
    write(folder / "a.txt", "Harbour strike\n\nThe harbour strike ended on Monday. Ships sailed.\n")
    write(folder / "b.txt", "Polls\n\nThe polls closed at ten. Counting began at once.\n")
    index_dir = tmp_path / "idx"
    sync([folder], _settings(index_dir), fake_embedder)
    with sqlite3.connect(index_dir / current_generation(index_dir) / "store.sqlite") as db:
        db.executescript(sql)
    return open_store(index_dir).check()


def _settings(index_dir):
    from rag.config import Settings

    return Settings(index_dir=index_dir, chunk_tokens=60)


def test_check_passes_a_whole_index(tmp_path, fake_embedder):
    assert damaged(tmp_path, fake_embedder, "") == []


@pytest.mark.parametrize("sql, problem", [
    ("UPDATE chunks SET text = 'Something else.' WHERE id = (SELECT MIN(id) FROM chunks)",
     "1 chunks differ from their article's text"),
    ("INSERT INTO chunks_fts(chunks_fts, rowid, text) SELECT 'delete', id, text FROM chunks "
     "WHERE id = (SELECT MIN(id) FROM chunks)", "misses 1 chunks"),
    ("DELETE FROM files WHERE path LIKE '%a.txt'", "articles belong to no indexed file"),
    ("UPDATE files SET hash = 'x' WHERE path LIKE '%b.txt'", "manifest's file hashes differ"),
    ("DELETE FROM articles WHERE path LIKE '%a.txt'", "chunks belong to no article"),
])
def test_check_names_what_is_wrong(tmp_path, fake_embedder, sql, problem):
    problems = damaged(tmp_path, fake_embedder, sql)
    assert any(problem in p for p in problems), problems


def test_killed_rebuilds_on_milvus_leave_the_old_or_the_new_state(tmp_path, milvus_port):
    """The same on a Milvus Lite server; after each kill the next run repairs the index."""
    from rag.testing.crash import MilvusTrials

    trials = MilvusTrials(tmp_path, seed=12, port=milvus_port, start_articles=20)
    outcomes = [trials.trial("timer") for _ in range(2)]
    outcomes += [trials.trial("line", at) for at in (0.1, 0.6, 0.99, 1.0)]
    r = trials.results
    assert (r.trials, r.corrupt, r.half_updated) == (6, 0, 0), r.problems
    assert trials.repaired == 6 and outcomes[-1] == "new" and "old" in outcomes[2:], outcomes
