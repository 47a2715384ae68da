"""Run one index sync with the fake embedder in its own process; the crash trials kill it.

    python -m rag.testing.index_worker INDEX_DIR ARTICLES [--die-at-line N | --count-lines]

``--die-at-line N`` sends this process SIGKILL at the N-th line executed in
``rag/embedded_write.py`` from the moment ``write_generation`` starts (the code that writes a new
generation and switches to it), so a sweep over N kills the run at every step of the
commit, not only where a timer happens to land.
``--count-lines`` runs to the end and prints how many such lines there were.
"""

import os
import signal
import sys

from rag import embedded_write
from rag.config import Settings
from rag.indexing import sync
from rag.testing.fakes import FakeEmbedder

STORE_FILE = embedded_write.__file__


def trace_store_lines(on_line):
    """Call ``on_line()`` at every line executed in rag/embedded_write.py once write_generation
    has been entered (in this thread)."""
    started = False

    def local(frame, event, arg):
        if event == "line" and started:
            on_line()
        return local

    def calls(frame, event, arg):
        nonlocal started
        if frame.f_code.co_filename != STORE_FILE:
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
        trace_store_lines(on_line)
    elif option == ["--count-lines"]:
        def on_line():
            nonlocal lines
            lines += 1
        trace_store_lines(on_line)
    report = sync([articles], Settings(index_dir=index_dir, chunk_tokens=60), FakeEmbedder())
    sys.settrace(None)
    print(lines if option == ["--count-lines"] else report.to_dict())


if __name__ == "__main__":
    main(sys.argv[1:])
