"""Integrity of one index generation: ``rag index --check`` and the crash tests' judge."""

from __future__ import annotations

import hashlib
import json

import faiss
import numpy as np

from .store import Store


def check(store: Store) -> list[str]:
    """Integrity problems of this generation (empty when all is well).

    Checks the SQLite file, that every FAISS id has its chunk row and back, that the
    lexical index holds exactly the chunks, that each chunk has one vector per sentence
    and is the slice of its article's text its offsets say, that articles and files
    agree, and that the manifest's hashes and counts are the stored ones.
    """
    problems = []
    status = store.db.execute("PRAGMA integrity_check").fetchone()[0]
    if status != "ok":
        return [f"the database is damaged: {status}"]
    chunk_ids = {r[0] for r in store.db.execute("SELECT id FROM chunks")}
    vector_ids = set(faiss.vector_to_array(store.vectors.id_map).tolist()) \
        if store.vectors.ntotal else set()
    if missing := chunk_ids - vector_ids:
        problems.append(f"{len(missing)} chunks have no vector")
    if extra := vector_ids - chunk_ids:
        problems.append(f"{len(extra)} vectors have no chunk")
    dimension = store.manifest.get("embedder", {}).get("dimension")
    if dimension is not None and store.vectors.d != dimension:
        problems.append(f"the vectors have {store.vectors.d} dimensions, the manifest "
                        f"says {dimension}")
    width = 2 * (dimension or store.vectors.d)
    wrong = sum(1 for n, size in store.db.execute(
        "SELECT c.sentences, length(v.vectors) FROM chunks c "
        "LEFT JOIN sentence_vectors v ON v.chunk_id = c.id")
        if size is None or size != width * len(json.loads(n)))
    if wrong:
        problems.append(f"{wrong} chunks lack one vector per sentence")
    lexical = {r[0] for r in store.db.execute("SELECT id FROM chunks_fts_docsize")}
    if lexical != chunk_ids:
        problems.append(f"the lexical index holds {len(lexical - chunk_ids)} rows with no "
                        f"chunk and misses {len(chunk_ids - lexical)} chunks")
    misplaced = 0
    for article_id, text in store.db.execute("SELECT id, text FROM articles"):
        for start, end, chunk in store.db.execute(
                'SELECT start, "end", text FROM chunks WHERE article_id = ?', (article_id,)):
            misplaced += text[start:end] != chunk
    if misplaced:
        problems.append(f"{misplaced} chunks differ from their article's text at their "
                        "offsets")
    orphans = store.db.execute(
        "SELECT COUNT(*) FROM chunks WHERE article_id NOT IN (SELECT id FROM articles)"
    ).fetchone()[0]
    if orphans:
        problems.append(f"{orphans} chunks belong to no article")
    strays = store.db.execute(
        "SELECT COUNT(*) FROM articles WHERE path NOT IN (SELECT path FROM files)"
    ).fetchone()[0]
    if strays:
        problems.append(f"{strays} articles belong to no indexed file")
    if store.manifest.get("files") != store.file_hashes():
        problems.append("the manifest's file hashes differ from the stored files")
    counts = store.manifest.get("counts", {})
    actual = {"files": store.count("files"), "articles": store.count("articles"),
              "chunks": len(chunk_ids)}
    if counts != actual:
        problems.append(f"the manifest counts {counts} differ from the stored {actual}")
    return problems


def fingerprint(store: Store) -> str:
    """A digest of the generation's content (files, articles, chunks, vector ids):
    equal fingerprints mean the same indexed state."""
    digest = hashlib.sha256()
    for query in ("SELECT path, hash FROM files ORDER BY path",
                  "SELECT id, path, title, date, text FROM articles ORDER BY id",
                  'SELECT id, article_id, start, "end", text FROM chunks ORDER BY id'):
        for row in store.db.execute(query):
            digest.update(repr(row).encode())
    if store.vectors.ntotal:
        digest.update(np.sort(faiss.vector_to_array(store.vectors.id_map)).tobytes())
    return digest.hexdigest()
