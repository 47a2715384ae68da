"""Which index engine serves a location, and the operations that come before a view
exists: opening the live state, the writer lock, writing a new state.

A directory is the embedded engine (FAISS + SQLite); ``milvus://host:port/NAME``,
``milvus+https://...`` and ``milvus-lite://PATH`` are the Milvus engine (``milvus.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rag.config import is_milvus
from rag.stores.base import FileEntry, Signature, Store


def is_shared(location: Path | str) -> bool:
    """Whether the index lives on a server other processes and machines may share."""
    return is_milvus(location) and not str(location).startswith("milvus-lite://")


def open_store(location: Path | str) -> Store:
    """The live state of the index at ``location``.

    Raises:
        IndexNotFound: there is no index there.
        IndexMismatch: the index is in a format this version does not read.
        StoreUnavailable: the index's server does not answer.
    """
    if is_milvus(location):
        from rag.stores.milvus import MilvusStore

        return MilvusStore.open_live(str(location))
    from rag.stores import embedded

    return embedded.EmbeddedStore.open_live(Path(location))


def write_lock(location: Path | str, timeout: float = 120.0):
    """Hold the index's writer lock (one writer at a time, across processes)."""
    if is_milvus(location):
        from rag.stores import milvus_write

        return milvus_write.write_lock(str(location), timeout)
    from rag.stores import embedded_write

    return embedded_write.write_lock(Path(location), timeout)


def write(location: Path | str, base: Store | None, *, remove: Iterable[str],
          add: Iterable[FileEntry], signature: Signature) -> Store:
    """Make ``base`` - ``remove`` + ``add`` the live state and return it; ``remove`` lists
    file paths to drop (a changed file is removed and added again). The caller holds
    ``write_lock``. A crash at any moment leaves the previous state or the new one."""
    if is_milvus(location):
        from rag.stores import milvus_write

        return milvus_write.write_generation(str(location), base, remove=remove, add=add,
                                             signature=signature)
    from rag.stores import embedded_write

    return embedded_write.write_generation(Path(location), base, remove=remove, add=add,
                                           signature=signature)


def previous_roots(location: Path | str) -> list[str]:
    """The folders an index in an older format was built from (to rebuild it)."""
    if is_milvus(location):
        from rag.stores import milvus_write

        return milvus_write.previous_roots(str(location))
    from rag.stores import embedded_write

    return embedded_write.previous_roots(Path(location))
