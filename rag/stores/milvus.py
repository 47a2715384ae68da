"""The Milvus engine: the index in a Milvus server (a cluster, Standalone, Milvus Lite).

Chosen by location: ``milvus://host:port/NAME`` (``milvus+https://`` for TLS; a token or
``user:password`` from ``RAG_MILVUS_TOKEN``) reaches a server; ``milvus-lite://PATH``
runs Milvus Lite inside this process (one process per data directory). ``NAME`` (default
``rag_news``) prefixes three collections::

    NAME_chunks     one row per chunk: chunk_id, article_id, date, ord, offsets, text, its
                    sentence offsets (JSON), ``terms`` (the text's words stemmed by
                    rag.text, the BM25 function's input), ``sparse`` (BM25, made by the
                    server), ``vector`` (float32, FLAT index, inner product)
    NAME_sentences  one row per sentence: chunk_id, n, vector (float32)
    NAME_records    kind "file" (path, hash, root), "article" (metadata; the text in
                    pieces of at most 16,000 characters), "meta" (the manifest, the
                    live-generation pointer, the writer's lock); a 2-wide dummy vector,
                    since a Milvus collection must have one

Consistency: every versioned row carries ``born`` and ``dead``, the generations that
added and removed it (``dead`` is 2**62 while it lives). A write adds rows born N,
marks removed rows dead N, writes manifest N and only then points ``live`` at N (one
row upsert). A reader keeps the generation it opened and filters every request by
``born <= G and dead > G``, so it sees the whole of G while N is written and never an
article's old and new chunks together. A writer killed before the switch leaves rows the
next write deletes (born > live) or revives (dead > live); the previous generation's
rows are kept until the write after, as the embedded engine keeps one generation back.

Differences from the embedded engine, measured in the README: BM25 comes from the
server (on Milvus Lite its IDF is per segment); words are stemmed by ``rag.text.stem``
before they reach it (so no server analyzer is needed); ``search_phrases`` needs both
words of a pair in the chunk rather than adjacent (Milvus Lite has no phrase match).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence

import numpy as np

from rag.config import Address, parse
from rag.errors import IndexMismatch, IndexNotFound, StoreUnavailable
from rag.stores.base import SCHEMA_VERSION, Manifest, Store
from rag.stores.milvus_client import (  # noqa: F401 - connect: the engine's names
    MAX_RESULTS,
    POINTER_TTL,
    TEXT_BYTES,
    alive_at,
    connect,
    count,
    literal,
    load,
    query_all,
    read_manifest,
    read_pointer,
    terms,
    unavailable,
)
from rag.types import Article, Chunk, Filters


def _reported(method):
    """A failed request as ``StoreUnavailable`` naming the server (not a traceback)."""
    import functools

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (IndexNotFound, IndexMismatch, StoreUnavailable):
            raise
        except Exception as exc:
            from pymilvus.exceptions import MilvusException

            if isinstance(exc, MilvusException) or type(exc).__module__.startswith("grpc"):
                raise unavailable(self.address, exc) from exc
            raise
    return call


class MilvusStore(Store):
    """One generation of an index in Milvus, read-only (safe to share across threads)."""

    exact_phrases = False

    def __init__(self, address: Address, client, number: int, raw: dict | None = None):
        self.address = address
        self.location = address.uri
        self.client = client
        self.number = int(number)
        self.generation = f"gen-{self.number:06d}"
        self.alive = alive_at(self.number)
        raw = raw if raw is not None else read_manifest(client, address, self.number)
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise IndexMismatch(
                f"The index at {address.uri} has schema version {raw.get('schema_version')}, "
                f"this version of rag reads {SCHEMA_VERSION}. Rebuild it: rag index --rebuild",
                outdated=True)
        files = {r["key"]: r["data"]["hash"] for r in query_all(
            client, address.records, f'kind == "file" and {self.alive}', ["key", "data"])}
        self.manifest = Manifest.from_dict({**raw, "files": files})
        self._looked = (time.monotonic(), self.number)
        self._look_lock = threading.Lock()
        self._stems: dict[str, set[int]] = {}

    @classmethod
    def open_live(cls, location: str) -> MilvusStore:
        """Open the live generation.

        Raises:
            IndexNotFound: nothing was indexed there yet.
            StoreUnavailable: the server does not answer.
        """
        address = parse(location)
        client = connect(address)
        try:
            names = (address.records, address.chunks, address.sentences)
            if not all(client.has_collection(n) for n in names):
                number = None
            else:
                load(client, names)
                number = read_pointer(client, address)
            if number is None:
                raise IndexNotFound(f"No index at {address.uri} - build one with "
                                    f"`rag index seeds/ --store {address.uri}`.")
            return cls(address, client, number)
        except (IndexNotFound, IndexMismatch):
            raise
        except Exception as exc:
            raise unavailable(address, exc) from exc

    def is_current(self) -> bool:
        with self._look_lock:
            at, number = self._looked
            if time.monotonic() - at > POINTER_TTL:
                number = read_pointer(self.client, self.address)
                self._looked = (time.monotonic(), number)
        return number == self.number

    def close(self) -> None:
        pass  # the client is shared with views opened from it; it closes with the process

    # -- articles and chunks ------------------------------------------------------------

    def _records(self, kind: str, extra: str = "", fields=("key", "data")) -> list[dict]:
        where = f'kind == "{kind}" and {self.alive}' + (f" and {extra}" if extra else "")
        return query_all(self.client, self.address.records, where, list(fields))

    def file_hashes(self) -> dict[str, str]:
        return dict(self.manifest.files)

    def article_paths(self) -> dict[str, str]:
        return {r["key"]: r["data"]["path"] for r in self._records("article", "piece == 0")}

    def articles(self, ids: Iterable[str] | None = None, *, with_text: bool = True
                 ) -> dict[str, Article]:
        extra = "" if with_text else "piece == 0"
        if ids is not None:
            ids = list(ids)
            if not ids:
                return {}
            extra = " and ".join(x for x in (extra, f"key in {_list(ids)}") if x)
        rows = self._records("article", extra, ("key", "piece", "data", "text")
                             if with_text else ("key", "piece", "data"))
        meta, pieces = {}, {}
        for r in rows:
            if r["piece"] == 0:
                meta[r["key"]] = r["data"]
            pieces.setdefault(r["key"], []).append((r["piece"], r.get("text", "")))
        out = {}
        for key, d in meta.items():
            body = "".join(t for _, t in sorted(pieces[key])) if with_text else ""
            out[key] = Article(key, d["path"], d["title"], d["date"] or None, d.get("source"),
                               body)
        return dict(sorted(out.items(), key=lambda kv: (_desc(kv[1].date), kv[0])))

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        ids = [int(i) for i in ids]
        found: dict[int, Chunk] = {}
        cut = []
        for start in range(0, len(ids), 2000):
            part = ids[start:start + 2000]
            rows = self.client.query(
                self.address.chunks, filter=f"chunk_id in {part} and {self.alive}",
                output_fields=["chunk_id", "article_id", "ord", "start", "stop", "text",
                               "sentences"], limit=MAX_RESULTS)
            for r in rows:
                c = Chunk(int(r["chunk_id"]), r["article_id"], int(r["ord"]), int(r["start"]),
                          int(r["stop"]), r["text"],
                          tuple(tuple(x) for x in json.loads(r["sentences"])))
                found[c.id] = c
                if len(c.text) < c.end - c.start and len(c.text.encode()) > TEXT_BYTES - 4:
                    cut.append(c)  # clipped to fit the field when written
        if cut:  # text too long for one field: the article holds it
            from dataclasses import replace

            full = self.articles({c.article_id for c in cut})
            for c in cut:
                if c.article_id in full:
                    found[c.id] = replace(c, text=full[c.article_id].text[c.start:c.end])
        return found

    def chunk_ids(self, article_id: str | None = None) -> list[int]:
        where = self.alive if article_id is None else \
            f"article_id == {literal(article_id)} and {self.alive}"
        rows = query_all(self.client, self.address.chunks, where,
                         ["chunk_id", "article_id", "ord"])
        rows.sort(key=lambda r: (r["article_id"], r["ord"]))
        return [int(r["chunk_id"]) for r in rows]

    def file_articles(self, path: str) -> list[str]:
        return sorted(r["key"] for r in self._records(
            "article", f"piece == 0 and path == {literal(path)}", ("key",)))

    def chunk_count(self, article_ids: Iterable[str]) -> int:
        ids = list(article_ids)
        return count(self.client, self.address.chunks,
                     f"article_id in {_list(ids)} and {self.alive}") if ids else 0

    def undated_count(self) -> int:
        return count(self.client, self.address.records,
                     f'kind == "article" and piece == 0 and date == "" and {self.alive}')

    # -- search ------------------------------------------------------------------------

    def _where(self, filters: Filters | None) -> str:
        clauses = [self.alive]
        if filters is not None and filters.active:
            if filters.since:
                clauses.append(f'date >= "{filters.since}"')
            if filters.until:
                clauses.append(f'date <= "{filters.until}" and date != ""')
            if filters.articles:
                clauses.append(f"article_id in {_list(filters.articles)}")
        return " and ".join(clauses)

    def _search(self, data, field: str, k: int, where: str, metric: str
                ) -> list[tuple[int, float]]:
        if k <= 0:
            return []
        hits = self.client.search(self.address.chunks, data=[data], anns_field=field,
                                  filter=where, limit=min(int(k), MAX_RESULTS),
                                  output_fields=["chunk_id"],
                                  search_params={"metric_type": metric})[0]
        # Milvus Lite reports BM25 as a negative distance, Milvus as a positive score.
        sign = abs if metric == "BM25" else float
        out = [(int(h["entity"]["chunk_id"]), sign(float(h["distance"]))) for h in hits]
        return sorted(out, key=lambda hit: -hit[1])

    def search_dense(self, query_vector: np.ndarray, k: int, filters: Filters | None = None
                     ) -> list[tuple[int, float]]:
        vec = np.asarray(query_vector, dtype=np.float32).ravel().tolist()
        return self._search(vec, "vector", k, self._where(filters), "IP")

    def dense_scores(self, query_vector: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        held = self.chunk_vectors(ids)
        return {i: float(v @ query_vector) for i, v in held.items()}

    def search_words(self, words: Sequence[str], k: int, filters: Filters | None = None
                     ) -> list[tuple[int, float]]:
        stems = [s for w in words for s in terms(w).split()]
        return self._search(" ".join(stems), "sparse", k, self._where(filters), "BM25") \
            if stems else []

    def search_phrases(self, phrases: Sequence[Sequence[str]], k: int,
                       filters: Filters | None = None) -> list[tuple[int, float]]:
        """BM25 of the pairs' words among the chunks that hold both words of a pair
        (Milvus Lite has no phrase match: adjacency is not checked)."""
        groups = [g for g in (terms(" ".join(p)).split() for p in phrases) if g]
        having: set[int] = set()
        for group in groups:
            both = set.intersection(*(self._containing(s) for s in group))
            having |= both
        if not having:
            return []
        where = self._where(filters)
        if len(having) <= 2000:  # cheaper to score only those
            where += f" and chunk_id in {sorted(having)}"
        hits = self._search(" ".join(s for g in groups for s in g), "sparse",
                            min(k, len(having)), where, "BM25")
        return [hit for hit in hits if hit[0] in having]

    def chunks_containing(self, word: str) -> set[int]:
        stems = terms(word).split()
        return set.intersection(*(self._containing(s) for s in stems)) if stems else set()

    def _containing(self, stem: str) -> set[int]:
        """The chunks holding a stem, read from the BM25 index (every chunk holding it
        scores above 0); a stem in more chunks than one search returns is matched row by
        row. Kept for the view's life (it reads one generation), up to 512 stems."""
        with self._look_lock:
            if stem in self._stems:
                return self._stems[stem]
        hits = self._search(stem, "sparse", MAX_RESULTS, self.alive, "BM25")
        if len(hits) < MAX_RESULTS:
            found = {cid for cid, score in hits if score > 0}
        else:
            found = {int(r["chunk_id"]) for r in query_all(
                self.client, self.address.chunks,
                f"text_match(terms, '{stem}') and {self.alive}", ["chunk_id"])}
        with self._look_lock:
            if len(self._stems) >= 512:
                self._stems.pop(next(iter(self._stems)))
            self._stems[stem] = found
        return found

    def chunk_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        ids = [int(i) for i in ids]
        out = {}
        for start in range(0, len(ids), 1000):
            part = ids[start:start + 1000]
            for r in self.client.query(self.address.chunks,
                                       filter=f"chunk_id in {part} and {self.alive}",
                                       output_fields=["chunk_id", "vector"],
                                       limit=MAX_RESULTS):
                out[int(r["chunk_id"])] = np.asarray(r["vector"], dtype=np.float32)
        return out

    def sentence_vectors(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        ids = [int(i) for i in ids]
        rows: list[dict] = []
        for start in range(0, len(ids), 100):
            part = ids[start:start + 100]
            where = f"chunk_id in {part} and {self.alive}"
            found = self.client.query(self.address.sentences, filter=where,
                                      output_fields=["chunk_id", "n", "vector"],
                                      limit=MAX_RESULTS)
            if len(found) == MAX_RESULTS:
                found = query_all(self.client, self.address.sentences, where,
                                  ["chunk_id", "n", "vector"])
            rows.extend(found)
        by_chunk: dict[int, list] = {}
        for r in rows:
            by_chunk.setdefault(int(r["chunk_id"]), []).append((int(r["n"]), r["vector"]))
        return {cid: np.asarray([v for _, v in sorted(vs, key=lambda x: x[0])],
                                dtype=np.float32) for cid, vs in by_chunk.items()}

    # -- integrity ---------------------------------------------------------------------

    def vector_ids(self) -> set[int]:
        rows = query_all(self.client, self.address.chunks, self.alive,
                         ["chunk_id", "vector"], batch=1000)
        return {int(r["chunk_id"]) for r in rows if float(np.linalg.norm(r["vector"])) > 1e-6}

    def sentence_vector_rows(self) -> dict[int, int]:
        rows = query_all(self.client, self.address.sentences, self.alive, ["chunk_id"])
        out: dict[int, int] = {}
        for r in rows:
            out[int(r["chunk_id"])] = out.get(int(r["chunk_id"]), 0) + 1
        return out

    def engine_problems(self) -> list[str]:
        problems = []
        rows = query_all(self.client, self.address.chunks, self.alive, ["chunk_id"])
        ids = [int(r["chunk_id"]) for r in rows]
        if len(ids) != len(set(ids)):
            problems.append(f"{len(ids) - len(set(ids))} chunks are stored twice in "
                            f"{self.generation}")
        return problems


for _name, _method in list(vars(MilvusStore).items()):
    if callable(_method) and not _name.startswith("__") and _name != "open_live":
        setattr(MilvusStore, _name, _reported(_method))


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


def _desc(date: str | None) -> tuple:
    """Newest first, undated last (as the embedded engine orders them)."""
    return (0, tuple(-ord(ch) for ch in date)) if date else (1, ())
