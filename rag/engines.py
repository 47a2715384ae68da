"""Which index engine serves a location, and the operations that come before a view
exists: opening the live state, the writer lock, writing a new state.

Only the embedded engine (a directory) exists so far; a second engine is chosen here by
the location's form.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from . import embedded, embedded_write
from .store import FileEntry, Signature, Store


def open_store(location: Path | str) -> Store:
    """The live state of the index at ``location`` (a directory: the embedded engine).

    Raises:
        IndexNotFound: there is no index there.
        IndexMismatch: the index is in a format this version does not read.
    """
    return embedded.EmbeddedStore.open_live(Path(location))


def write_lock(location: Path | str, timeout: float = 120.0):
    """Hold the index's writer lock (one writer at a time, across processes)."""
    return embedded_write.write_lock(Path(location), timeout)


def write(location: Path | str, base: Store | None, *, remove: Iterable[str],
          add: Iterable[FileEntry], signature: Signature) -> Store:
    """Make ``base`` - ``remove`` + ``add`` the live state and return it; ``remove`` lists
    file paths to drop (a changed file is removed and added again). The caller holds
    ``write_lock``. A crash at any moment leaves the previous state or the new one."""
    return embedded_write.write_generation(Path(location), base, remove=remove, add=add,
                                     signature=signature)


def previous_roots(location: Path | str) -> list[str]:
    """The folders an index in an older format was built from (to rebuild it)."""
    return embedded_write.previous_roots(Path(location))
