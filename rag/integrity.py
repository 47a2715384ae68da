"""Integrity of one state of the index: ``rag index --check`` and the crash tests' judge.

Works through the ``Store`` interface, so it checks any engine the same way; damage only
an engine can see (its own files, its full-text index) comes from ``engine_problems``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Store


def check(store: Store) -> list[str]:
    """Integrity problems of this state (empty when all is well).

    Checks what the engine reports about itself, that every vector has its chunk and
    back, that each chunk has one vector per sentence and is the slice of its article's
    text its offsets say, that articles and files agree, and that the manifest's hashes
    and counts are the stored ones.
    """
    problems = store.engine_problems()
    if problems and problems[0].startswith("the database is damaged"):
        return problems
    chunk_ids = set(store.chunk_ids())
    vector_ids = store.vector_ids()
    if missing := chunk_ids - vector_ids:
        problems.append(f"{len(missing)} chunks have no vector")
    if extra := vector_ids - chunk_ids:
        problems.append(f"{len(extra)} vectors have no chunk")
    articles = store.articles(with_text=True)
    rows = store.sentence_vector_rows()
    misplaced = wrong = orphans = 0
    for start in range(0, len(sorted_ids := sorted(chunk_ids)), 2000):
        for chunk in store.chunks(sorted_ids[start:start + 2000]).values():
            wrong += rows.get(chunk.id) != len(chunk.sentences)
            article = articles.get(chunk.article_id)
            if article is None:
                orphans += 1
            else:
                misplaced += article.text[chunk.start:chunk.end] != chunk.text
    if wrong:
        problems.append(f"{wrong} chunks lack one vector per sentence")
    if misplaced:
        problems.append(f"{misplaced} chunks differ from their article's text at their "
                        "offsets")
    if orphans:
        problems.append(f"{orphans} chunks belong to no article")
    hashes = store.file_hashes()
    strays = sum(1 for a in articles.values() if a.path not in hashes)
    if strays:
        problems.append(f"{strays} articles belong to no indexed file")
    if store.manifest.files != hashes:
        problems.append("the manifest's file hashes differ from the stored files")
    counts = store.manifest.counts
    actual = {"files": len(hashes), "articles": len(articles), "chunks": len(chunk_ids)}
    said = {"files": counts.files, "articles": counts.articles, "chunks": counts.chunks}
    if said != actual:
        problems.append(f"the manifest counts {said} differ from the stored {actual}")
    return problems


def fingerprint(store: Store) -> str:
    """A digest of the state's content (files, articles, chunks, vector ids): equal
    fingerprints mean the same indexed state."""
    digest = hashlib.sha256()
    for path, h in sorted(store.file_hashes().items()):
        digest.update(repr((path, h)).encode())
    for a in sorted(store.articles(with_text=True).values(), key=lambda a: a.id):
        digest.update(repr((a.id, a.path, a.title, a.date, a.text)).encode())
    ids = sorted(store.chunk_ids())
    for start in range(0, len(ids), 2000):
        found = store.chunks(ids[start:start + 2000])
        for cid in ids[start:start + 2000]:
            c = found[cid]
            digest.update(repr((c.id, c.article_id, c.start, c.end, c.text)).encode())
    digest.update(repr(sorted(store.vector_ids())).encode())
    return digest.hexdigest()
