"""The embedded index engine: a directory of whole, immutable generations (FAISS + SQLite).

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

import json
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.errors import IndexMismatch, IndexNotFound
from rag.stores.base import SCHEMA_VERSION, Manifest, Store
from rag.types import Article, Chunk, Filters

_GEN = re.compile(r"^gen-(\d{6,})$")


def current_generation(index_dir: Path) -> str | None:
    """The name of the live generation directory, or None if there is no index."""
    try:
        name = (Path(index_dir) / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return name if _GEN.match(name) else None


def _quoted(words: Sequence[str]) -> str:
    """Words as one quoted FTS5 phrase."""
    return '"' + " ".join(words).replace('"', '""') + '"'


class EmbeddedStore(Store):
    """One generation of the embedded index, read-only (safe to share across threads)."""

    def __init__(self, index_dir: Path, generation: str):
        self.index_dir = Path(index_dir)
        self.location = str(index_dir)
        self.generation = generation
        self.path = self.index_dir / generation
        raw = json.loads((self.path / "manifest.json").read_text())
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatch(
                f"The index at {index_dir} has schema version "
                f"{raw.get('schema_version')}, this version of rag reads "
                f"{SCHEMA_VERSION}. Rebuild it: rag index --rebuild",
                outdated=True)
        self.manifest = Manifest.from_dict(raw)
        uri = f"file:{self.path / 'store.sqlite'}?mode=ro"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        import faiss

        self.vectors = faiss.read_index(str(self.path / "vectors.faiss"))

    @classmethod
    def open_live(cls, index_dir: Path) -> EmbeddedStore:
        """Open the live generation.

        Raises:
            IndexNotFound: there is no index in ``index_dir``.
        """
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
        return current_generation(self.index_dir) == self.generation

    def close(self) -> None:
        self.db.close()

    # -- articles and chunks ------------------------------------------------------------

    def file_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT path, hash FROM files"))

    def article_paths(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, path FROM articles"))

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

    def chunk_ids(self, article_id: str | None = None) -> list[int]:
        if article_id is None:
            rows = self.db.execute("SELECT id FROM chunks ORDER BY article_id, ord")
        else:
            rows = self.db.execute("SELECT id FROM chunks WHERE article_id = ? ORDER BY ord",
                                   (article_id,))
        return [r[0] for r in rows]

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
        return [r[0] for r in self.db.execute(
            "SELECT id FROM articles WHERE path = ? ORDER BY id", (path,))]

    def undated_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM articles WHERE date IS NULL OR date = ''"
                               ).fetchone()[0]

    def chunk_count(self, article_ids: Iterable[str]) -> int:
        ids = list(article_ids)
        return self.db.execute(
            f"SELECT COUNT(*) FROM chunks WHERE article_id IN ({','.join('?' * len(ids))})",
            ids).fetchone()[0] if ids else 0

    def count(self, kind: str) -> int:
        assert kind in ("files", "articles", "chunks")
        return self.db.execute(f"SELECT COUNT(*) FROM {kind}").fetchone()[0]

    # -- search ------------------------------------------------------------------------

    def search_dense(self, query_vector: np.ndarray, k: int, filters: Filters | None = None
                     ) -> list[tuple[int, float]]:
        allowed = self._allowed_ids(filters)
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
        if not ids:
            return {}
        vecs = np.stack([self.vectors.reconstruct(int(i)) for i in ids])
        return dict(zip((int(i) for i in ids), (vecs @ query_vector).tolist(), strict=True))

    def chunk_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        out = {}
        for i in ids:
            try:
                out[int(i)] = self.vectors.reconstruct(int(i))
            except RuntimeError:  # no vector under this id (a damaged index)
                continue
        return out

    def sentence_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
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

    def _allowed_ids(self, filters) -> np.ndarray | None:
        """Chunk ids that pass ``filters`` (None when nothing is filtered)."""
        where, args = self._filter_sql(filters)
        if not where:
            return None
        rows = self.db.execute(
            "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE 1" + where,
            args)
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def search_words(self, words: Sequence[str], k: int, filters: Filters | None = None
                     ) -> list[tuple[int, float]]:
        return self._bm25(" OR ".join(_quoted([w]) for w in words), k, filters) \
            if words else []

    def search_phrases(self, phrases: Sequence[Sequence[str]], k: int,
                       filters: Filters | None = None) -> list[tuple[int, float]]:
        return self._bm25(" OR ".join(_quoted(p) for p in phrases), k, filters) \
            if phrases else []

    def _bm25(self, match: str, k: int, filters) -> list[tuple[int, float]]:
        """BM25 over the chunks for an FTS5 ``match`` expression, best first.

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

    def chunks_containing(self, word: str) -> set[int]:
        rows = self.db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?",
                               (_quoted([word]),))
        return {r[0] for r in rows}

    def document_frequency(self, word: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?",
                               (_quoted([word]),)).fetchone()[0]

    # -- integrity ---------------------------------------------------------------------

    def vector_ids(self) -> set[int]:
        import faiss

        return set(faiss.vector_to_array(self.vectors.id_map).tolist()) \
            if self.vectors.ntotal else set()

    def sentence_vector_rows(self) -> dict[int, int]:
        width = 2 * int(self.vectors.d)  # float16
        return {cid: size // width for cid, size in self.db.execute(
            "SELECT chunk_id, length(vectors) FROM sentence_vectors")}

    def engine_problems(self) -> list[str]:
        status = self.db.execute("PRAGMA integrity_check").fetchone()[0]
        if status != "ok":
            return [f"the database is damaged: {status}"]
        problems = []
        if self.vectors.d != self.manifest.dimension:
            problems.append(f"the vectors have {self.vectors.d} dimensions, the manifest "
                            f"says {self.manifest.dimension}")
        chunk_ids = {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        lexical = {r[0] for r in self.db.execute("SELECT id FROM chunks_fts_docsize")}
        if lexical != chunk_ids:
            problems.append(f"the lexical index holds {len(lexical - chunk_ids)} rows with "
                            f"no chunk and misses {len(chunk_ids - lexical)} chunks")
        return problems

