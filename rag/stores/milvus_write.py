"""Writing an index in Milvus: the collections, the writer's lock, one generation a write.

See ``milvus.py`` for the layout and what a reader sees. A write (under ``write_lock``):

1. tidies up after a writer that died: rows born after the live generation are deleted,
   rows it marked dead are alive again; rows dead before the previous generation go;
2. marks the removed and changed files' rows dead N and inserts the new rows born N;
3. writes manifest N (counts from the rows alive at N) and then, last, points ``live``
   at N. A crash anywhere before that last upsert leaves generation N - 1 live and whole.

The lock is a record with an owner and a lease (renewed every few seconds while held):
a writer on this host whose process is gone, or a lease run out, frees it. Milvus has no
compare-and-set, so a taker writes its claim and reads it back after a pause.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from contextlib import contextmanager

import numpy as np

from rag.config import Address, parse
from rag.errors import IndexLocked
from rag.stores.base import SCHEMA_VERSION, Counts, FileEntry, Signature
from rag.stores.milvus import MilvusStore
from rag.stores.milvus_client import (
    ALIVE,
    PIECE_CHARS,
    TEXT_BYTES,
    alive_at,
    connect,
    count,
    literal,
    load,
    query_all,
    read_pointer,
    terms,
    unavailable,
)

LEASE = 30.0  # seconds a lock lives without renewal
BATCH = 500  # rows an insert sends at once


def _schemas(dim: int):
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    chunks = MilvusClient.create_schema(auto_id=False)
    chunks.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
    chunks.add_field("chunk_id", DataType.INT64)
    chunks.add_field("article_id", DataType.VARCHAR, max_length=8192)
    chunks.add_field("date", DataType.VARCHAR, max_length=32)
    chunks.add_field("ord", DataType.INT64)
    chunks.add_field("start", DataType.INT64)
    chunks.add_field("stop", DataType.INT64)
    chunks.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES)
    chunks.add_field("sentences", DataType.VARCHAR, max_length=TEXT_BYTES)
    chunks.add_field("terms", DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True,
                     enable_match=True)
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    chunks.add_field("born", DataType.INT64)
    chunks.add_field("dead", DataType.INT64)
    chunks.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["terms"], output_field_names=["sparse"]))

    sentences = MilvusClient.create_schema(auto_id=False)
    sentences.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=80)
    sentences.add_field("chunk_id", DataType.INT64)
    sentences.add_field("n", DataType.INT64)
    sentences.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    sentences.add_field("born", DataType.INT64)
    sentences.add_field("dead", DataType.INT64)
    return chunks, sentences


def _records_schema():
    from pymilvus import DataType, MilvusClient

    records = MilvusClient.create_schema(auto_id=False)
    records.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=128)
    records.add_field("kind", DataType.VARCHAR, max_length=16)
    records.add_field("key", DataType.VARCHAR, max_length=8192)
    records.add_field("path", DataType.VARCHAR, max_length=8192)
    records.add_field("piece", DataType.INT64)
    records.add_field("date", DataType.VARCHAR, max_length=32)
    records.add_field("data", DataType.JSON)
    records.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES)
    records.add_field("born", DataType.INT64)
    records.add_field("dead", DataType.INT64)
    records.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    return records


def _create(client, name: str, schema, indexes: list[tuple[str, str, str]]) -> None:
    params = client.prepare_index_params()
    for field, kind, metric in indexes:
        params.add_index(field_name=field, index_type=kind, metric_type=metric)
    client.create_collection(name, schema=schema, index_params=params,
                             consistency_level="Strong")


def ensure_records(client, address: Address) -> None:
    if not client.has_collection(address.records):
        _create(client, address.records, _records_schema(), [("unused", "FLAT", "IP")])
    load(client, [address.records])


def ensure_collections(client, address: Address, dim: int) -> None:
    """Create the collections a write needs, if they are not there."""
    ensure_records(client, address)
    chunks, sentences = _schemas(dim)
    if not client.has_collection(address.chunks):
        _create(client, address.chunks, chunks,
                [("vector", "FLAT", "IP"), ("sparse", "SPARSE_INVERTED_INDEX", "BM25")])
    if not client.has_collection(address.sentences):
        _create(client, address.sentences, sentences, [("vector", "FLAT", "IP")])
    load(client, _collections(address))


def _digest(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def _record(kind: str, key: str, born: int, *, piece: int = 0, date: str = "",
            path: str = "", data: dict | None = None, text: str = "") -> dict:
    """A records row; ``born`` 0 marks the unversioned ones (the pointer, the lock)."""
    return {"pk": f"{kind}:{_digest(key)}:{piece}:{born}", "kind": kind, "key": key,
            "path": path, "piece": piece, "date": date, "data": data or {}, "text": text,
            "born": born, "dead": ALIVE, "unused": [1.0, 0.0]}


def _clip(text: str) -> str:
    """The longest prefix of ``text`` that fits a VARCHAR field."""
    raw = text.encode()
    return text if len(raw) <= TEXT_BYTES else raw[:TEXT_BYTES].decode(errors="ignore")


def _rows(entry: FileEntry, born: int) -> tuple[list[dict], list[dict], list[dict]]:
    records = [_record("file", entry.path, born, path=entry.path,
                       data={"path": entry.path, "hash": entry.hash, "root": entry.root})]
    dates = {}
    for a in entry.articles:
        dates[a.id] = a.date or ""
        pieces = [a.text[i:i + PIECE_CHARS] for i in range(0, len(a.text), PIECE_CHARS)] \
            or [""]
        meta = {"path": a.path, "title": a.title, "date": a.date or "", "source": a.source}
        records += [_record("article", a.id, born, piece=n, date=dates[a.id], path=a.path,
                            data=meta if n == 0 else {}, text=t)
                    for n, t in enumerate(pieces)]
    chunks, sentences = [], []
    for c, vector, svecs in zip(entry.chunks, entry.vectors, entry.sentence_vectors,
                                strict=True):
        chunks.append({
            "pk": f"{c.id}:{born}", "chunk_id": int(c.id), "article_id": c.article_id,
            "date": dates.get(c.article_id, ""), "ord": int(c.ord), "start": int(c.start),
            "stop": int(c.end), "text": _clip(c.text),
            "sentences": json.dumps([list(s) for s in c.sentences]),
            "terms": _clip(terms(c.text)), "vector": np.asarray(vector, np.float32).tolist(),
            "born": born, "dead": ALIVE})
        sentences += [{"pk": f"{c.id}:{n}:{born}", "chunk_id": int(c.id), "n": n,
                       "vector": np.asarray(v, np.float32).tolist(), "born": born,
                       "dead": ALIVE} for n, v in enumerate(svecs)]
    return records, chunks, sentences


def _insert(client, collection: str, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        client.insert(collection, rows[start:start + BATCH])


def _mark_dead(client, collection: str, where: str, number: int) -> None:
    pks = [r["pk"] for r in query_all(client, collection, where, ["pk"])]
    for start in range(0, len(pks), 2000):
        client.upsert(collection, [{"pk": pk, "dead": number} for pk in
                                   pks[start:start + 2000]], partial_update=True)


def _collections(address: Address) -> list[str]:
    return [address.records, address.chunks, address.sentences]


def _tidy(client, address: Address, live: int) -> None:
    """Undo what a writer killed before its switch left, and drop rows no reader of the
    live or the previous generation can see."""
    for name in _collections(address):
        client.delete(name, filter=f"born > {live}")
        _mark_dead(client, name, f"dead > {live} and dead < {ALIVE}", ALIVE)
        client.delete(name, filter=f"dead <= {live - 1}")


def _revert(client, address: Address, base: int, live: int, number: int) -> None:
    """Make generation ``number`` hold what ``base`` (older than ``live``) held."""
    for name in _collections(address):
        _mark_dead(client, name, f"born > {base} and born <= {live} and dead > {live}",
                   number)
        gone = query_all(client, name, f"born <= {base} and dead > {base} and dead <= {live}",
                         ["*"])
        for row in gone:
            row.pop("sparse", None)
            row["pk"] = row["pk"].rsplit(":", 1)[0] + f":{number}"
            row.update(born=number, dead=ALIVE)
        _insert(client, name, gone)


def _kill_files(client, address: Address, paths: list[str], live: int, number: int) -> None:
    alive = alive_at(live)
    for start in range(0, len(paths), 200):
        part = paths[start:start + 200]
        keys = "[" + ", ".join(literal(p) for p in part) + "]"
        articles = sorted({r["key"] for r in query_all(
            client, address.records,
            f'kind == "article" and piece == 0 and path in {keys} and {alive}',
            ["key"])})
        _mark_dead(client, address.records, f'kind == "file" and key in {keys} and {alive}',
                   number)
        for a in range(0, len(articles), 500):
            ids = "[" + ", ".join(literal(i) for i in articles[a:a + 500]) + "]"
            chunk_ids = [int(r["chunk_id"]) for r in query_all(
                client, address.chunks, f"article_id in {ids} and {alive}", ["chunk_id"])]
            _mark_dead(client, address.records,
                       f'kind == "article" and key in {ids} and {alive}', number)
            _mark_dead(client, address.chunks, f"article_id in {ids} and {alive}", number)
            for c in range(0, len(chunk_ids), 1000):
                _mark_dead(client, address.sentences,
                           f"chunk_id in {chunk_ids[c:c + 1000]} and {alive}", number)


def write_generation(location: str, base: MilvusStore | None, *, remove: Iterable[str],
                     add: Iterable[FileEntry], signature: Signature) -> MilvusStore:
    """Write generation N = ``base`` - ``remove`` + ``add`` and make it live (the caller
    holds ``write_lock``); ``base`` None starts from nothing (a rebuild)."""
    address = parse(location)
    client = connect(address)
    try:
        ensure_collections(client, address, signature.dimension)
        live = read_pointer(client, address) or 0
        _tidy(client, address, live)
        number = live + 1
        if base is None and live:
            for name in _collections(address):  # a rebuild: nothing carries over
                _mark_dead(client, name, f"born > 0 and {alive_at(live)}", number)
        elif base is not None and base.number != live:
            _revert(client, address, base.number, live, number)
        add = list(add)
        _kill_files(client, address, [*remove, *(e.path for e in add)], live, number)
        _mark_dead(client, address.records,
                   f'kind == "meta" and key == "manifest" and {alive_at(live)}', number)
        for entry in add:
            records, chunks, sentences = _rows(entry, number)
            _insert(client, address.records, records)
            _insert(client, address.chunks, chunks)
            _insert(client, address.sentences, sentences)
        alive = alive_at(number)
        counts = Counts(
            files=count(client, address.records, f'kind == "file" and {alive}'),
            articles=count(client, address.records,
                           f'kind == "article" and piece == 0 and {alive}'),
            chunks=count(client, address.chunks, alive))
        manifest = {"schema_version": SCHEMA_VERSION, "generation": f"gen-{number:06d}",
                    "embedder": {"id": signature.embedder_id,
                                 "dimension": signature.dimension},
                    "chunker": dict(signature.chunker), "roots": list(signature.roots),
                    "counts": {"files": counts.files, "articles": counts.articles,
                               "chunks": counts.chunks}, "updated": time.time()}
        _insert(client, address.records, [_record("meta", "manifest", number,
                                                  data=manifest)])
        for name in _collections(address):  # seal what was written (segments, indexes)
            client.flush(name)
        client.upsert(address.records, [{**_record("meta", "live", 0,
                                                   data={"generation": number}),
                                         "pk": "meta:live"}])
        return MilvusStore(address, client, number, manifest)
    except Exception as exc:
        from pymilvus.exceptions import MilvusException

        if isinstance(exc, MilvusException) or type(exc).__module__.startswith("grpc"):
            raise unavailable(address, exc) from exc
        raise


def previous_roots(location: str) -> list[str]:
    """The folders the live generation was built from, read without checking its format."""
    from rag.stores.milvus_client import read_manifest

    address = parse(location)
    client = connect(address)
    if not client.has_collection(address.records):
        return []
    load(client, [address.records])
    live = read_pointer(client, address)
    return list(read_manifest(client, address, live).get("roots", [])) if live else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(claim: dict, now: float) -> bool:
    if claim.get("until", 0) < now:
        return True
    return claim.get("host") == socket.gethostname() and not _alive(int(claim.get("pid", 0)))


@contextmanager
def write_lock(location: str, timeout: float = 120.0):
    """Hold the index's writer lock: a lock record in the collection (one writer at a
    time across processes and machines)."""
    address = parse(location)
    client = connect(address)
    try:
        ensure_records(client, address)
    except Exception as exc:
        raise unavailable(address, exc) from exc
    me = {"owner": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}

    def claim() -> dict | None:
        rows = client.query(address.records, filter='pk == "meta:lock"', output_fields=["data"])
        return dict(rows[0]["data"]) if rows else None

    def put(until: float) -> None:
        client.upsert(address.records, [{**_record("meta", "lock", 0,
                                                   data={**me, "until": until}),
                                         "pk": "meta:lock"}])

    deadline = time.monotonic() + timeout
    while True:
        held = claim()
        if held is None or held.get("owner") == me["owner"] or _stale(held, time.time()):
            put(time.time() + LEASE)
            time.sleep(0.3)  # a rival taking it at the same moment: the last write wins
            held = claim()
            if held and held.get("owner") == me["owner"]:
                break
        if time.monotonic() > deadline:
            raise IndexLocked(f"Another process ({held.get('host')}, pid {held.get('pid')}) "
                              f"is updating the index at {address.uri}; wait for it to finish "
                              "and try again.")
        time.sleep(0.5)

    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LEASE / 3):
            try:
                put(time.time() + LEASE)
            except Exception:  # the write itself will report a server that went away
                pass

    keeper = threading.Thread(target=renew, daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()
        try:
            held = claim()
            if held and held.get("owner") == me["owner"]:
                client.delete(address.records, filter='pk == "meta:lock"')
        except Exception:  # an expired lease frees it anyway
            pass
