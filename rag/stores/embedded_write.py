"""Writing the embedded index: a new generation beside the live one, switched to whole.

A write copies the live generation into a temporary directory, applies the change there,
fsyncs it, renames it into place and only then switches ``CURRENT`` with ``os.replace``
(see ``embedded.py`` for the layout). The crash tests kill a writer at every line of this
module from ``write_generation`` on.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.errors import IndexLocked
from rag.stores.base import SCHEMA_VERSION, Counts, FileEntry, Manifest, Signature
from rag.stores.embedded import _GEN, EmbeddedStore, current_generation

_SCHEMA = """
CREATE TABLE files (path TEXT PRIMARY KEY, hash TEXT NOT NULL, root TEXT NOT NULL);
CREATE TABLE articles (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, date TEXT, source TEXT,
    text TEXT NOT NULL);
CREATE INDEX articles_path ON articles(path);
CREATE INDEX articles_date ON articles(date);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, ord INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    sentences TEXT NOT NULL);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE TABLE sentence_vectors (chunk_id INTEGER PRIMARY KEY, vectors BLOB NOT NULL);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2');
"""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


@contextmanager
def write_lock(index_dir: Path, timeout: float = 120.0):
    """Hold the index's writer lock (one writer at a time, across processes)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexLocked(f"Another process is updating the index at {index_dir}; "
                                      "wait for it to finish and try again.") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _new_database(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA)
    return db


def _delete_file_rows(db: sqlite3.Connection, path: str) -> list[int]:
    """Remove a file's articles and chunks; returns the removed chunk ids."""
    rows = db.execute(
        'SELECT id, text FROM chunks WHERE article_id IN '
        '(SELECT id FROM articles WHERE path = ?)', (path,)).fetchall()
    db.executemany("INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES('delete', ?, ?)", rows)
    db.execute("DELETE FROM chunks WHERE article_id IN (SELECT id FROM articles WHERE path = ?)",
               (path,))
    db.executemany("DELETE FROM sentence_vectors WHERE chunk_id = ?", [(r[0],) for r in rows])
    db.execute("DELETE FROM articles WHERE path = ?", (path,))
    db.execute("DELETE FROM files WHERE path = ?", (path,))
    return [r[0] for r in rows]


def write_generation(index_dir: Path, base: EmbeddedStore | None, *, remove: Iterable[str],
                     add: Iterable[FileEntry], signature: Signature) -> EmbeddedStore:
    """Write a new generation = ``base`` - ``remove`` + ``add``, then make it live.

    The caller holds :func:`write_lock`. ``remove`` lists file paths to drop (a changed
    file is removed and added again). ``signature`` names the embedder, the chunker and
    the indexed folders; the counts and hashes are filled in here.
    """
    import faiss

    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    _collect_garbage(index_dir, live=current_generation(index_dir))
    number = _next_number(index_dir)
    name = f"gen-{number:06d}"
    tmp = index_dir / f".{name}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        if base is not None:
            shutil.copyfile(base.path / "store.sqlite", tmp / "store.sqlite")
            db = sqlite3.connect(tmp / "store.sqlite")
            vectors = faiss.clone_index(base.vectors)
        else:
            db = _new_database(tmp / "store.sqlite")
            vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(signature.dimension))
        add = list(add)
        with db:
            # Remove first: a changed file may keep some chunks with the same ids.
            removed: list[int] = []
            for path in [*remove, *(e.path for e in add)]:
                removed.extend(_delete_file_rows(db, path))
            if removed:
                vectors.remove_ids(np.array(removed, dtype=np.int64))
            for entry in add:
                _insert_entry(db, entry)
                if len(entry.chunks):
                    vectors.add_with_ids(
                        np.ascontiguousarray(entry.vectors, dtype=np.float32),
                        np.array([c.id for c in entry.chunks], dtype=np.int64))
        files = dict(db.execute("SELECT path, hash FROM files ORDER BY path"))
        manifest = Manifest(
            schema_version=SCHEMA_VERSION, generation=name, embedder_id=signature.embedder_id,
            dimension=signature.dimension, chunker=dict(signature.chunker),
            roots=tuple(signature.roots), updated=time.time(), files=files,
            counts=Counts(files=len(files),
                          articles=db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
                          chunks=db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]))
        db.close()
        faiss.write_index(vectors, str(tmp / "vectors.faiss"))
        (tmp / "manifest.json").write_text(json.dumps(manifest.to_dict(), indent=1))
        for f in tmp.iterdir():
            _fsync_file(f)
        _fsync_dir(tmp)
        os.rename(tmp, index_dir / name)
        _fsync_dir(index_dir)
        pointer = index_dir / f".CURRENT.tmp-{os.getpid()}"
        pointer.write_text(name + "\n")
        _fsync_file(pointer)
        os.replace(pointer, index_dir / "CURRENT")
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return EmbeddedStore(index_dir, name)


def previous_roots(index_dir: Path) -> list[str]:
    """The folders the live generation was built from, read without checking its format
    (an index in an older format is rebuilt from them)."""
    generation = current_generation(index_dir)
    if generation is None:
        return []
    manifest = json.loads((index_dir / generation / "manifest.json").read_text())
    return list(manifest.get("roots", []))


def _insert_entry(db: sqlite3.Connection, entry: FileEntry) -> None:
    db.execute("INSERT INTO files(path, hash, root) VALUES (?, ?, ?)",
               (entry.path, entry.hash, entry.root))
    db.executemany(
        "INSERT INTO articles(id, path, title, date, source, text) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(a.id, a.path, a.title, a.date, a.source, a.text) for a in entry.articles])
    db.executemany(
        'INSERT INTO chunks(id, article_id, ord, start, "end", text, sentences) '
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(c.id, c.article_id, c.ord, c.start, c.end, c.text, json.dumps(c.sentences))
         for c in entry.chunks])
    db.executemany("INSERT INTO chunks_fts(rowid, text) VALUES (?, ?)",
                   [(c.id, c.text) for c in entry.chunks])
    db.executemany("INSERT INTO sentence_vectors(chunk_id, vectors) VALUES (?, ?)",
                   [(c.id, np.ascontiguousarray(v, dtype=np.float16).tobytes())
                    for c, v in zip(entry.chunks, entry.sentence_vectors, strict=True)])


def _next_number(index_dir: Path) -> int:
    numbers = [int(m[1]) for p in index_dir.iterdir() if (m := _GEN.match(p.name))]
    return max(numbers, default=0) + 1


def _collect_garbage(index_dir: Path, live: str | None) -> None:
    """Drop unfinished generations, and all but the live one and the one before it."""
    for p in index_dir.iterdir():
        if p.name.startswith((".gen-", ".CURRENT.tmp-")):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    generations = sorted(p for p in index_dir.iterdir() if _GEN.match(p.name))
    older = [p for p in generations if live is not None and p.name < live]
    # A generation newer than the live one was finished but never switched to (a crash
    # between the rename and the pointer switch): it is garbage too.
    newer = [p for p in generations if live is None or p.name > live]
    for p in older[:-1] + newer:
        shutil.rmtree(p, ignore_errors=True)
