"""Run one index sync with the fake embedder in its own process; the crash trials kill it.

    python -m rag.testing.index_worker LOCATION ARTICLES [--die-at-line N | --count-lines]

LOCATION is an index directory or a Milvus URI. ``--die-at-line N`` sends this process
SIGKILL at the N-th line executed in the engine's writer (``rag/stores/embedded_write.py`` or
``rag/stores/milvus_write.py``) from the moment ``write_generation`` starts (the code that writes
a new generation and switches to it), so a sweep over N kills the run at every step of
the commit, not only where a timer happens to land.
``--count-lines`` runs to the end and prints how many such lines there were.
"""

import os
import signal
import sys

from rag.config import Settings
from rag.index.build import sync
from rag.testing.fakes import FakeEmbedder


def writer_file(location: str) -> str:
    if location.startswith("milvus"):
        from rag.stores import milvus_write

        return milvus_write.__file__
    from rag.stores import embedded_write

    return embedded_write.__file__


def trace_store_lines(on_line, store_file: str):
    """Call ``on_line()`` at every line executed in ``store_file`` (the engine's writer) once
    write_generation has been entered (in this thread)."""
    started = False

    def local(frame, event, arg):
        if event == "line" and started:
            on_line()
        return local

    def calls(frame, event, arg):
        nonlocal started
        if frame.f_code.co_filename != store_file:
            return None
        started = started or frame.f_code.co_name == "write_generation"
        return local

    sys.settrace(calls)


def main(argv):
    index_dir, articles, *option = argv
    lines = 0
    if option and option[0] == "--die-at-line":
        die_at = int(option[1])

        def on_line():
            nonlocal lines
            lines += 1
            if lines == die_at:
                os.kill(os.getpid(), signal.SIGKILL)
        trace_store_lines(on_line, writer_file(index_dir))
    elif option == ["--count-lines"]:
        def on_line():
            nonlocal lines
            lines += 1
        trace_store_lines(on_line, writer_file(index_dir))
    report = sync([articles], Settings(store=index_dir, chunk_tokens=60), FakeEmbedder())
    sys.settrace(None)
    print(lines if option == ["--count-lines"] else report.to_dict())


if __name__ == "__main__":
    main(sys.argv[1:])
