"""``rag index --watch``: re-sync when files under the watched folders change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from rag.config import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

_CHANGES = {"created", "modified", "deleted", "moved", "closed"}


def watch(paths: Iterable[Path], on_change: Callable[[], None], debounce: float = 1.0,
          stop: threading.Event | None = None) -> None:
    """Call ``on_change`` now, then once things settle after each change under ``paths``.

    Runs until interrupted (Ctrl-C) or until ``stop`` is set.
    """
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    dirty = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            if event.event_type not in _CHANGES:
                return  # opening and reading a file (as indexing does) is no change
            names = [getattr(event, "src_path", ""), getattr(event, "dest_path", "")]
            if event.is_directory or any(Path(str(n)).suffix.lower() in SUPPORTED_SUFFIXES
                                         for n in names if n):
                dirty.set()

    observer = Observer()
    for p in paths:
        p = Path(p)
        observer.schedule(Handler(), str(p if p.is_dir() else p.parent), recursive=True)
    observer.start()
    dirty.set()  # catch up on whatever changed before the observer was watching
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            if dirty.wait(0.5):
                # Let a burst of events (a copy of many files) finish before indexing.
                while dirty.is_set():
                    dirty.clear()
                    stop.wait(debounce)
                try:
                    on_change()
                except Exception as exc:  # keep watching; report and carry on
                    log.error("indexing failed: %s", exc)
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()
