"""Where the index is kept: the ``Store`` interface (reads and the integrity check), the
embedded engine (FAISS + SQLite in a directory) and the Milvus engine, and opening a
store, or writing a new state of it, by location."""

from rag.stores.base import SCHEMA_VERSION, Counts, FileEntry, Manifest, Signature, Store
from rag.stores.opening import is_shared, open_store, previous_roots, write, write_lock

__all__ = ["SCHEMA_VERSION", "Counts", "FileEntry", "Manifest", "Signature", "Store",
           "is_shared", "open_store", "previous_roots", "write", "write_lock"]
