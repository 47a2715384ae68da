"""Reaching a Milvus server: the URI forms, one client per server and token, and the
requests the Milvus reader (``milvus.py``) and writer (``milvus_write.py``) both make.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from rag import text as textmod
from rag.config import Address
from rag.errors import IndexNotFound, StoreUnavailable

ALIVE = 2 ** 62  # ``dead`` of a row no write has removed
MAX_RESULTS = 16_384  # Milvus caps limit + offset of a search or query at this
PIECE_CHARS = 16_000  # at most 64,000 bytes in UTF-8: under VARCHAR's 65,535
TEXT_BYTES = 65_535
POINTER_TTL = 1.0  # seconds a reader trusts its last look at the live pointer


_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


def connect(address: Address):
    """The client for the address's server, one per server and token in a process (views
    and writers share it; Milvus Lite is started for a lite path).

    Raises:
        StoreUnavailable: nothing answers there.
    """
    from pymilvus import MilvusClient

    # pymilvus logs every failed call and iterator detail itself; this module turns
    # failures into one message, so its log shows only with -v.
    # (Milvus Lite in this process serves gRPC from a thread, which logs the calls it
    # does not implement, such as the iterator's timestamp request pymilvus falls back from.)
    if logging.getLogger().getEffectiveLevel() > logging.INFO:
        for name in ("pymilvus", "grpc._server", "milvus_lite"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    token = os.environ.get("RAG_MILVUS_TOKEN", "")
    key = (address.endpoint, token)
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        if address.lite:
            Path(address.endpoint).parent.mkdir(parents=True, exist_ok=True)
        try:
            client = MilvusClient(uri=address.endpoint, token=token, timeout=10)
        except Exception as exc:  # pymilvus raises its own and grpc's errors
            raise unavailable(address, exc) from exc
        _clients[key] = client
        return client


def unavailable(address: Address, exc: BaseException) -> StoreUnavailable:
    what = str(getattr(exc, "message", "") or exc).strip().splitlines()[0][:200]
    if address.lite:
        return StoreUnavailable(f"Milvus Lite could not open {address.endpoint} ({what}). "
                                "Only one process may use a Milvus Lite data directory: "
                                "stop the other one, or use a milvus-lite server.")
    return StoreUnavailable(f"The Milvus server at {address.uri} is not answering ({what}). "
                            "Start it (or check the host, port and RAG_MILVUS_TOKEN) and "
                            "try again.")


def load(client, names: Iterable[str]) -> None:
    """Make the collections searchable (Milvus Lite starts with them released)."""
    from pymilvus.client.types import LoadState

    for name in names:
        if client.get_load_state(name).get("state") != LoadState.Loaded:
            client.load_collection(name)


def alive_at(generation: int) -> str:
    return f"born <= {int(generation)} and dead > {int(generation)}"


def literal(value: str) -> str:
    """A string as a Milvus expression literal."""
    return json.dumps(value, ensure_ascii=False)


def terms(text: str) -> str:
    """What the BM25 function reads for a text: its words stemmed as rag.text stems
    them (all words; the server's standard analyzer only splits and lower-cases)."""
    return " ".join(textmod.stem(w) for w in textmod.words(text))


def query_all(client, collection: str, filter: str, fields: list[str],
              batch: int = 4000) -> list[dict]:
    """Every row matching ``filter`` (past the server's cap on one result)."""
    it = client.query_iterator(collection, batch_size=batch, filter=filter,
                               output_fields=fields)
    rows: list[dict] = []
    try:
        while page := it.next():
            rows.extend(page)
    finally:
        it.close()
    return rows


def count(client, collection: str, filter: str) -> int:
    return int(client.query(collection, filter=filter, output_fields=["count(*)"])[0]
               ["count(*)"])


def read_pointer(client, address: Address) -> int | None:
    """The live generation, or None when nothing was ever written there."""
    rows = client.query(address.records, filter='pk == "meta:live"', output_fields=["data"])
    return int(rows[0]["data"]["generation"]) if rows else None


def read_manifest(client, address: Address, generation: int) -> dict:
    rows = client.query(address.records, filter=f'kind == "meta" and key == "manifest" and '
                        f'{alive_at(generation)}', output_fields=["data"])
    if not rows:
        raise IndexNotFound(f"The index at {address.uri} has no manifest for generation "
                            f"{generation}; rebuild it with `rag index --rebuild`.")
    return dict(rows[0]["data"])
