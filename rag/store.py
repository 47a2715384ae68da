"""The on-disk index: a directory of whole, immutable generations.

Layout::

    index/
      CURRENT               names the live generation, e.g. "gen-000007"
      gen-000007/
        manifest.json       schema, embedder id and dimension, chunker settings, counts,
                            and the content hash of every indexed file
        store.sqlite        files, articles, chunks (text, offsets, sentence spans) and an
                            FTS5 table over the chunks for BM25
        vectors.faiss       IndexIDMap2(IndexFlatIP) keyed by the chunks' 64-bit ids
                            (store.sqlite also keeps each chunk's sentence vectors, in
                            float16, for scoring the candidates sentence by sentence)
      .lock                 held by the one process writing

A write copies the live generation into a temporary directory, applies the change there,
fsyncs it, renames it into place and only then switches ``CURRENT`` with ``os.replace``.
A reader, or a process opening the index after ``kill -9`` at any moment, therefore sees
the whole old or the whole new generation. The previous generation is kept so a reader
that has just read ``CURRENT`` never finds its files gone.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexLocked, IndexMismatch, IndexNotFound
from .types import Article, Chunk

SCHEMA_VERSION = 2
_GEN = re.compile(r"^gen-(\d{6,})$")

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


@dataclass(frozen=True)
class FileEntry:
    """One indexed file: its content hash, the root it was indexed under, its articles."""

    path: str
    hash: str
    root: str
    articles: Sequence[Article]
    chunks: Sequence[Chunk]
    vectors: np.ndarray  # (len(chunks), dim) float32, normalized
    sentence_vectors: Sequence[np.ndarray] = ()  # per chunk: (len(sentences), dim)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def current_generation(index_dir: Path) -> str | None:
    """The name of the live generation directory, or None if there is no index."""
    try:
        name = (Path(index_dir) / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return name if _GEN.match(name) else None


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


class Store:
    """A read-only view of one generation of the index (safe to share across threads)."""

    def __init__(self, index_dir: Path, generation: str):
        self.index_dir = Path(index_dir)
        self.generation = generation
        self.path = self.index_dir / generation
        self.manifest: dict = json.loads((self.path / "manifest.json").read_text())
        if self.manifest.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatch(
                f"The index at {index_dir} has schema version "
                f"{self.manifest.get('schema_version')}, this version of rag reads "
                f"{SCHEMA_VERSION}. Rebuild it: rag index --rebuild",
                outdated=True)
        uri = f"file:{self.path / 'store.sqlite'}?mode=ro"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        import faiss

        self.vectors = faiss.read_index(str(self.path / "vectors.faiss"))

    @classmethod
    def open(cls, index_dir: Path | str) -> Store:
        """Open the live generation.

        Raises:
            IndexNotFound: there is no index in ``index_dir``.
        """
        index_dir = Path(index_dir)
        for _ in range(5):  # a writer may retire the generation we just read; read again
            generation = current_generation(index_dir)
            if generation is None:
                raise IndexNotFound(f"No index at {index_dir} - build one with "
                                    f"`rag index seeds/ --index-dir {index_dir}`.")
            try:
                return cls(index_dir, generation)
            except FileNotFoundError:
                time.sleep(0.05)
        raise IndexNotFound(f"The index at {index_dir} is being replaced; try again.")

    def is_current(self) -> bool:
        """Whether this view is still the live generation."""
        return current_generation(self.index_dir) == self.generation

    def close(self) -> None:
        self.db.close()

    # -- reading -------------------------------------------------------------------------

    def file_hashes(self) -> dict[str, str]:
        """Content hash of every indexed file, by absolute path."""
        return dict(self.db.execute("SELECT path, hash FROM files"))

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        ids = [int(i) for i in ids]
        found: dict[int, Chunk] = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            rows = self.db.execute(
                f'SELECT id, article_id, ord, start, "end", text, sentences FROM chunks '
                f'WHERE id IN ({",".join("?" * len(part))})', part)
            for cid, aid, ordinal, s, e, text, sents in rows:
                found[cid] = Chunk(cid, aid, ordinal, s, e, text,
                                   tuple(tuple(x) for x in json.loads(sents)))
        return found

    def articles(self, ids: Iterable[str] | None = None, *, with_text: bool = True
                 ) -> dict[str, Article]:
        cols = "id, path, title, date, source, " + ("text" if with_text else "''")
        if ids is None:
            rows = self.db.execute(f"SELECT {cols} FROM articles ORDER BY date DESC, id")
        else:
            ids = list(ids)
            rows = self.db.execute(
                f"SELECT {cols} FROM articles WHERE id IN ({','.join('?' * len(ids))})", ids)
        return {r[0]: Article(*r) for r in rows}

    def file_articles(self, path: str) -> list[str]:
        """Ids of the articles read from the file at ``path`` (a feed holds several)."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM articles WHERE path = ? ORDER BY id", (path,))]

    def undated_count(self) -> int:
        """How many articles have no date (a date filter leaves them out)."""
        return self.db.execute("SELECT COUNT(*) FROM articles WHERE date IS NULL OR date = ''"
                               ).fetchone()[0]

    def chunk_count(self, article_ids: Iterable[str]) -> int:
        """How many chunks these articles have."""
        ids = list(article_ids)
        return self.db.execute(
            f"SELECT COUNT(*) FROM chunks WHERE article_id IN ({','.join('?' * len(ids))})",
            ids).fetchone()[0] if ids else 0

    def count(self, table: str) -> int:
        assert table in ("files", "articles", "chunks")
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def search_dense(self, query_vector: np.ndarray, k: int,
                     allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` chunk ids nearest to a normalized query vector, with cosine scores.

        ``allowed`` restricts the search to those chunk ids.
        """
        if self.vectors.ntotal == 0 or (allowed is not None and len(allowed) == 0):
            return []
        import faiss

        q = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self.vectors.search(q, min(k, self.vectors.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def dense_scores(self, query_vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Cosine scores of the query against the given chunks' stored vectors."""
        if not ids:
            return {}
        vecs = np.stack([self.vectors.reconstruct(int(i)) for i in ids])
        return dict(zip((int(i) for i in ids), (vecs @ query_vector).tolist(), strict=True))

    def sentence_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Each chunk's sentence vectors, one float32 row per sentence, in order."""
        ids = [int(i) for i in ids]
        width = int(self.vectors.d)
        out: dict[int, np.ndarray] = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            rows = self.db.execute(
                "SELECT chunk_id, vectors FROM sentence_vectors "
                f"WHERE chunk_id IN ({','.join('?' * len(part))})", part)
            for cid, blob in rows:
                out[cid] = np.frombuffer(blob, dtype=np.float16).reshape(-1, width) \
                    .astype(np.float32)
        return out

    def sentence_scores(self, query_vector: np.ndarray, ids: Sequence[int]
                        ) -> dict[int, float]:
        """Each chunk's best sentence cosine against the query (chunks without sentence
        vectors are left out)."""
        q = np.asarray(query_vector, dtype=np.float32)
        return {cid: float((vecs @ q).max())
                for cid, vecs in self.sentence_vectors(ids).items() if len(vecs)}

    def _filter_sql(self, filters) -> tuple[str, list]:
        if filters is None or not filters.active:
            return "", []
        clauses, args = [], []
        if filters.since:
            clauses.append("a.date >= ?")
            args.append(filters.since)
        if filters.until:
            clauses.append("a.date <= ?")
            args.append(filters.until)
        if filters.articles:
            clauses.append(f"a.id IN ({','.join('?' * len(filters.articles))})")
            args.extend(filters.articles)
        return " AND " + " AND ".join(clauses), args

    def allowed_ids(self, filters) -> np.ndarray | None:
        """Chunk ids that pass ``filters`` (None when nothing is filtered)."""
        where, args = self._filter_sql(filters)
        if not where:
            return None
        rows = self.db.execute(
            "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE 1" + where,
            args)
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def search_lexical(self, match: str, k: int, filters=None) -> list[tuple[int, float]]:
        """BM25 over the chunks for an FTS5 ``match`` expression, best first (higher is better).

        (Restricting FTS5 with ``rowid IN (...)`` is slow - it re-runs the match per row - so
        callers that need scores for given chunks ask for a long list and look them up.)
        """
        where, args = self._filter_sql(filters)
        join = (" JOIN chunks c ON c.id = chunks_fts.rowid"
                " JOIN articles a ON a.id = c.article_id") if where else ""
        rows = self.db.execute(
            f"SELECT chunks_fts.rowid, -bm25(chunks_fts) FROM chunks_fts{join} "
            f"WHERE chunks_fts MATCH ?{where} ORDER BY bm25(chunks_fts) LIMIT ?",
            [match, *args, k])
        return [(int(i), float(s)) for i, s in rows]

    def containing(self, term: str) -> set[int]:
        """Ids of the chunks that contain ``term`` (an FTS5 phrase)."""
        rows = self.db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?", (term,))
        return {r[0] for r in rows}

    def check(self) -> list[str]:
        """Integrity problems of this generation (empty when all is well); see
        ``integrity.check``."""
        from .integrity import check

        return check(self)

    def fingerprint(self) -> str:
        """A digest of the generation's content; see ``integrity.fingerprint``."""
        from .integrity import fingerprint

        return fingerprint(self)


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


def write_generation(index_dir: Path, base: Store | None, *, remove: Iterable[str],
                     add: Iterable[FileEntry], manifest: dict, dimension: int) -> Store:
    """Write a new generation = ``base`` - ``remove`` + ``add``, then make it live.

    The caller holds :func:`write_lock`. ``remove`` lists file paths to drop (a changed
    file is removed and added again). ``manifest`` supplies the embedder and chunker
    descriptions; the counts and hashes are filled in here.
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
            vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
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
        full = dict(manifest)
        full.update(
            schema_version=SCHEMA_VERSION, generation=name, updated=time.time(),
            counts={"files": len(files),
                    "articles": db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
                    "chunks": db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]},
            files=files)
        db.close()
        faiss.write_index(vectors, str(tmp / "vectors.faiss"))
        (tmp / "manifest.json").write_text(json.dumps(full, indent=1))
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
    return Store(index_dir, name)


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
