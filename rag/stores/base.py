"""What every stage asks of an index, in plain words: the ``Store`` interface.

Retrieval, answering, indexing and the integrity check use only these methods, never an
engine's query language, so a second engine (a search server) can stand behind them. The
embedded engine (FAISS + SQLite, one directory of immutable generations) is
``embedded.EmbeddedStore``; ``engines.open_store`` picks the engine for a location.

Words handed to the lexical methods are plain lower-case words as ``text.words`` splits
them; each engine matches them with its own analyzer (the embedded one stems with FTS5's
Porter stemmer). An engine without phrase search may approximate ``search_phrases`` by
requiring both words of a pair; an engine without an exact document frequency may
estimate ``document_frequency`` - each says so where it does.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.types import Article, Chunk, Filters

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Counts:
    files: int = 0
    articles: int = 0
    chunks: int = 0


@dataclass(frozen=True)
class Manifest:
    """What an index says about itself: the format, the embedder and chunker it was
    built with (a reader with others must refuse it), its size, the folders it was built
    from and the content hash of every indexed file."""

    schema_version: int
    generation: str
    embedder_id: str
    dimension: int
    chunker: dict
    roots: tuple[str, ...] = ()
    counts: Counts = Counts()
    files: dict[str, str] = field(default_factory=dict)
    updated: float = 0.0

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        return cls(schema_version=d.get("schema_version", 0), generation=d.get("generation", ""),
                   embedder_id=d["embedder"]["id"], dimension=int(d["embedder"]["dimension"]),
                   chunker=dict(d["chunker"]), roots=tuple(d.get("roots", ())),
                   counts=Counts(**d.get("counts", {})), files=dict(d.get("files", {})),
                   updated=float(d.get("updated", 0)))

    def to_dict(self) -> dict:
        return {"schema_version": self.schema_version, "generation": self.generation,
                "embedder": {"id": self.embedder_id, "dimension": self.dimension},
                "chunker": self.chunker, "roots": list(self.roots),
                "counts": {"files": self.counts.files, "articles": self.counts.articles,
                           "chunks": self.counts.chunks},
                "files": self.files, "updated": self.updated}


@dataclass(frozen=True)
class Signature:
    """What a write must record: the embedder, the chunker and the indexed folders."""

    embedder_id: str
    dimension: int
    chunker: dict
    roots: tuple[str, ...] = ()


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


class Store(ABC):
    """A read-only view of one state of the index (safe to share across threads)."""

    generation: str  # names this state; a write makes a new one
    location: str  # where the index lives, as the user named it
    manifest: Manifest

    @abstractmethod
    def is_current(self) -> bool:
        """Whether this view is still the live state."""

    def close(self) -> None:  # noqa: B027 - an engine with nothing to close need not say so
        """Let go of what the view holds open."""

    # -- articles and chunks ------------------------------------------------------------

    @abstractmethod
    def articles(self, ids: Iterable[str] | None = None, *, with_text: bool = True
                 ) -> dict[str, Article]:
        """The articles by id (all of them when ``ids`` is None)."""

    @abstractmethod
    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """The chunks by id (unknown ids are left out)."""

    @abstractmethod
    def chunk_ids(self, article_id: str | None = None) -> list[int]:
        """Ids of every chunk, or of one article's chunks, in article order."""

    @abstractmethod
    def file_hashes(self) -> dict[str, str]:
        """Content hash of every indexed file, by absolute path."""

    @abstractmethod
    def article_paths(self) -> dict[str, str]:
        """The file each article was read from, by article id."""

    def file_articles(self, path: str) -> list[str]:
        """Ids of the articles read from the file at ``path`` (a feed holds several)."""
        return sorted(i for i, p in self.article_paths().items() if p == path)

    @abstractmethod
    def chunk_count(self, article_ids: Iterable[str]) -> int:
        """How many chunks these articles have."""

    @abstractmethod
    def undated_count(self) -> int:
        """How many articles have no date (a date filter leaves them out)."""

    def count(self, kind: str) -> int:
        """How many ``"files"``, ``"articles"`` or ``"chunks"`` the index holds."""
        return getattr(self.manifest.counts, kind)

    # -- search ------------------------------------------------------------------------

    @abstractmethod
    def search_dense(self, query_vector: np.ndarray, k: int, filters: Filters | None = None
                     ) -> list[tuple[int, float]]:
        """The ``k`` chunks nearest to a normalized query vector among those passing
        ``filters``, with their cosines, best first."""

    @abstractmethod
    def dense_scores(self, query_vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """The query's cosine to each of the given chunks."""

    @abstractmethod
    def search_words(self, words: Sequence[str], k: int, filters: Filters | None = None
                     ) -> list[tuple[int, float]]:
        """BM25 of chunks holding any of ``words`` (higher is better), best ``k`` first."""

    @abstractmethod
    def search_phrases(self, phrases: Sequence[Sequence[str]], k: int,
                       filters: Filters | None = None) -> list[tuple[int, float]]:
        """BM25 of chunks holding any of the word sequences ``phrases`` as written, best
        ``k`` first (the word-pair signal)."""

    @abstractmethod
    def chunks_containing(self, word: str) -> set[int]:
        """Ids of the chunks that contain ``word``."""

    def document_frequency(self, word: str) -> int:
        """In how many chunks ``word`` occurs."""
        return len(self.chunks_containing(word))

    @abstractmethod
    def sentence_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Each chunk's sentence vectors, one float32 row per sentence, in order."""

    @abstractmethod
    def chunk_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """The stored vector of each of these chunks (ids without one are left out)."""

    # -- integrity ---------------------------------------------------------------------

    @abstractmethod
    def vector_ids(self) -> set[int]:
        """Ids of the chunks the dense index holds a vector for."""

    @abstractmethod
    def sentence_vector_rows(self) -> dict[int, int]:
        """How many sentence vectors each chunk has stored."""

    def engine_problems(self) -> list[str]:
        """Damage only the engine can see (its own files, its full-text index)."""
        return []

    def check(self) -> list[str]:
        """Integrity problems of this state (empty when all is well): ``rag index --check``
        and the crash tests' judge. Works through this interface, so it checks any engine
        the same way; damage only an engine can see comes from ``engine_problems``."""
        return _check(self)

    def fingerprint(self) -> str:
        """A digest of this state's content (equal states, equal digests)."""
        return _fingerprint(self)


# -- integrity, through the interface above ------------------------------------------

def _check(store: Store) -> list[str]:
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


def _fingerprint(store: Store) -> str:
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
