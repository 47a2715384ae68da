"""Keeping the index in step with folders of articles.

A file's content hash decides whether it is new, changed, unchanged or deleted; only new
and changed files are read and chunked, and only chunks the index does not already hold
(same article, offsets, text and sentences) are embedded. One run writes one new
generation of the index (see ``rag.stores``), so a crash leaves the previous one whole.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.errors import ArticleNotFound, IndexMismatch, IndexNotFound, RagError
from rag.index.embedding import Embedder, embed_chunks
from rag.index.pooling import METHOD as SENTENCE_VECTORS
from rag.ingest import chunk_article, iter_files, read_file
from rag.stores import FileEntry, Signature, Store, open_store, previous_roots, write, write_lock
from rag.types import Article, Chunk, IndexReport, Removal, Skipped

log = logging.getLogger(__name__)

CHUNKER_VERSION = 1


def file_hash(path: Path) -> str:
    return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()


def chunker_signature(settings: Settings) -> dict:
    return {"version": CHUNKER_VERSION, "max_tokens": settings.chunk_tokens,
            "overlap_sentences": settings.chunk_overlap_sentences,
            "sentence_vectors": SENTENCE_VECTORS}


def index_signature(settings: Settings, embedder: Embedder,
                    roots: Iterable[str] = ()) -> Signature:
    """What the index must agree on with the code reading it."""
    return Signature(embedder.model_id, int(embedder.dimension), chunker_signature(settings),
                     tuple(roots))


def check_compatible(store: Store, settings: Settings, embedder_id: str) -> None:
    """Raise ``IndexMismatch`` when the index was built with another embedder or chunker."""
    built = store.manifest
    if built.embedder_id != embedder_id:
        raise IndexMismatch(
            f"The index at {store.location} was built with the embedder "
            f"{built.embedder_id!r}, not {embedder_id!r}. Rebuild it with "
            f"`rag index --rebuild`, or use the embedder it was built with.")
    want = chunker_signature(settings)
    if built.chunker != want:
        raise IndexMismatch(
            f"The index at {store.location} was built with chunker settings "
            f"{built.chunker}, not {want}. Rebuild it with `rag index --rebuild`.")


def _open_existing(index_dir: Path | str) -> tuple[Store | None, list[Path]]:
    """The live state, or None when there is none or it is in an older format; then
    also the folders that older index was built from, so the run rebuilds all of them."""
    try:
        return open_store(index_dir), []
    except IndexNotFound:
        return None, []
    except IndexMismatch as exc:
        if not exc.outdated:
            raise
        roots = [Path(r) for r in previous_roots(index_dir)]
        log.warning("The index at %s is in an older format; rebuilding it from its "
                    "articles.", index_dir)
        return None, [r for r in roots if r.exists()]


def _made_the_old_way(store: Store, settings: Settings) -> bool:
    """The index was chunked with these settings but by older code (an older chunker
    version, sentence vectors made another way): rebuilt, not refused."""
    built, want = dict(store.manifest.chunker), chunker_signature(settings)
    code = ("version", "sentence_vectors")
    return built != want and all(built.get(k) == v for k, v in want.items() if k not in code)


def _under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == r or r in p.parents for r in roots)


def sync(paths: Iterable[Path | str], settings: Settings, embedder: Embedder, *,
         rebuild: bool = False, show_progress: bool = False) -> IndexReport:
    """Bring the index at ``settings.location`` in step with the articles under ``paths``.

    Files under ``paths`` that vanished are removed from the index; articles indexed from
    other folders are left alone.

    Raises:
        IndexMismatch: the index was built with another embedder or chunker.
        IndexLocked: another process holds the index's writer lock for too long.
    """
    began = time.perf_counter()
    roots = [Path(p).expanduser().resolve() for p in paths]
    index_dir = settings.location
    with write_lock(index_dir):
        base, old_roots = (None, []) if rebuild else _open_existing(index_dir)
        if base is not None and _made_the_old_way(base, settings):
            log.warning("The index at %s was made by an older version (%s); rebuilding it "
                        "from its articles.", index_dir, base.manifest.chunker)
            old_roots = [r for r in map(Path, base.manifest.roots) if r.exists()]
            base.close()
            base = None
        roots += [r for r in old_roots if r not in roots]
        if base is not None:
            check_compatible(base, settings, embedder.model_id)
        old_hashes = base.file_hashes() if base else {}
        taken_ids = base.article_paths() if base else {}
        per_file: dict[str, int] = {}
        for p in taken_ids.values():
            per_file[p] = per_file.get(p, 0) + 1

        found: dict[str, tuple[Path, str, Path]] = {}
        for path, article_id in iter_files(roots):
            root = next((r for r in roots if path == r or r in path.parents), path)
            found.setdefault(str(path), (path, article_id, root))
        deleted = [p for p in old_hashes if _under(p, roots) and p not in found]
        taken_ids = {i: p for i, p in taken_ids.items() if p not in deleted}

        counts = {"added": 0, "changed": 0, "unchanged": 0,
                  "deleted": sum(per_file.get(p, 0) for p in deleted)}
        skipped: list[Skipped] = []
        pending: list[tuple[str, str, Path, list[Article]]] = []
        for key, (path, article_id, root) in found.items():
            try:
                digest = file_hash(path)
            except OSError as exc:
                skipped.append(Skipped(key, f"unreadable: {exc.strerror or exc}"))
                continue
            if old_hashes.get(key) == digest:
                counts["unchanged"] += per_file.get(key, 0)
                continue
            articles, bad = read_file(path, article_id, settings.max_article_bytes,
                                     settings.near_empty_words)
            if key in old_hashes and not articles:
                bad = [Skipped(s.path, s.reason + " (the previously indexed version is kept)")
                       for s in bad]
            skipped.extend(bad)
            for s in bad:
                log.warning("skipped %s: %s", s.path, s.reason)
            if not articles:
                continue
            articles = _unique_ids(articles, key, path, taken_ids)
            counts["changed" if key in old_hashes else "added"] += len(articles)
            pending.append((key, digest, root, articles))

        chunked = [[chunk_article(a, embedder.count_tokens, settings.chunk_tokens,
                                  settings.chunk_overlap_sentences) for a in articles]
                   for _, _, _, articles in pending]
        flat = [c for per_article in chunked for chunks in per_article for c in chunks]
        vector_of, sentences_of = _reusable(base, flat)  # filled in below for the rest
        fresh = [c for c in flat if c.id not in vector_of]
        texts = [c.text for c in fresh]
        spans = [[(s - c.start, e - c.start) for s, e in c.sentences] for c in fresh]
        # A little text goes to the engine with no start-up cost, much to the fastest.
        bulk = getattr(embedder, "for_bulk", None)
        engine = bulk(texts) if bulk else embedder
        vectors, sentence_vectors = embed_chunks(engine, texts, spans, settings.embed_chunk,
                                                 show_progress=show_progress)
        for c, vector, rows in zip(fresh, vectors, sentence_vectors, strict=True):
            vector_of[c.id] = vector
            sentences_of[c.id] = rows

        entries = []
        for (key, digest, root, articles), per_article in zip(pending, chunked, strict=True):
            chunks = [c for cs in per_article for c in cs]
            vecs = np.stack([vector_of[c.id] for c in chunks]) if chunks else _empty(embedder)
            entries.append(FileEntry(key, digest, str(root), articles, chunks, vecs,
                                     [sentences_of[c.id] for c in chunks]))

        if base is not None and not entries and not deleted:
            store = base
        else:
            store = write(
                index_dir, base, remove=deleted, add=entries,
                signature=index_signature(settings, embedder, sorted(
                    {*(base.manifest.roots if base else ()), *map(str, roots)})))
        chunks_total = store.count("chunks")
        for s in (base, store):
            if s is not None:
                s.close()
    return IndexReport(**counts, skipped=tuple(skipped), chunks_embedded=len(texts),
                       sentences_embedded=sum(map(len, spans)),
                       chunks_total=chunks_total, seconds=time.perf_counter() - began)


def _empty(embedder: Embedder):
    return np.zeros((0, embedder.dimension), dtype=np.float32)


def _reusable(base: Store | None, chunks: list[Chunk]
              ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """The vectors the index already holds for chunks that a change left as they were:
    the same article, offsets and text (so the same id) and the same sentences. Editing
    a long article, such as a live blog gaining a paragraph, re-embeds only what moved."""
    if base is None or not chunks:
        return {}, {}
    old = base.chunks(c.id for c in chunks)
    same = [c.id for c in chunks
            if c.id in old and old[c.id].sentences == tuple(map(tuple, c.sentences))]
    stored = base.sentence_vectors(same)
    by_id = {c.id: c for c in chunks}
    # A damaged index without a chunk's vector: that chunk is embedded again.
    held = base.chunk_vectors(i for i in same if len(stored.get(i, ())) == len(by_id[i].sentences))
    vectors, sentences = {}, {}
    for i, vector in held.items():
        vectors[i] = vector
        sentences[i] = stored[i]
    return vectors, sentences


def _unique_ids(articles: list[Article], key: str, path: Path,
                taken: dict[str, str]) -> list[Article]:
    """Give each article an id no other file uses (``a.txt`` and ``a.md`` both say ``a``)."""
    from dataclasses import replace

    out = []
    for a in articles:
        new_id, n = a.id, 1
        while taken.get(new_id, key) != key:
            n += 1
            new_id = f"{a.id}{path.suffix}" if n == 2 else f"{a.id}{path.suffix}~{n}"
        taken[new_id] = key
        out.append(a if new_id == a.id else replace(a, id=new_id))
    return out


def remove(settings: Settings, article_id: str, *, delete_file: bool = False) -> Removal:
    """Take the file holding the article ``article_id`` (an exact id) out of the index,
    and with ``delete_file`` off the disk too, as one operation.

    The index is written first and the file deleted after, under the writer lock: if the
    file cannot be deleted the previous generation is made live again, so both stay as
    they were; a crash between the two leaves the file on disk and the next ``rag index``
    of its folder adds it back. Without ``delete_file`` the next index run of the
    article's folder adds it back too (the file is still there).

    Raises:
        ArticleNotFound: no article has exactly that id.
        RagError: the file could not be deleted (nothing was changed).
    """
    index_dir = settings.location
    with write_lock(index_dir):
        base = open_store(index_dir)
        try:
            found = base.articles([article_id], with_text=False).get(article_id)
            if found is None:
                raise ArticleNotFound(f"No article {article_id!r} in the index at {index_dir}"
                                      " (ids are exact; `rag search` lists them).")
            ids = tuple(base.file_articles(found.path))
            chunks = base.chunk_count(ids)
            m = base.manifest
            signature = Signature(m.embedder_id, m.dimension, m.chunker, m.roots)
            write(index_dir, base, remove=[found.path], add=[], signature=signature).close()
            if delete_file:
                try:
                    Path(found.path).unlink(missing_ok=True)
                except OSError as exc:
                    # Put the previous generation's content back: nothing was removed.
                    write(index_dir, base, remove=[], add=[], signature=signature).close()
                    raise RagError(f"Could not delete {found.path}: "
                                   f"{exc.strerror or exc}. Nothing was removed.") from exc
        finally:
            base.close()
    return Removal(found.path, ids, chunks, delete_file)
