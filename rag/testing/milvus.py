"""A real Milvus Lite server for the tests and benchmarks (the ``milvus`` extra)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

from rag.testing.server import free_port


def available() -> str | None:
    """Why the Milvus backend cannot be tested here, or None when it can."""
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        return "the milvus extra is not installed (pip install -e '.[milvus]')"
    if shutil.which("milvus-lite") is None:
        return "the milvus-lite command is not on PATH"
    return None


def start_milvus(data_dir: Path, log_path: Path, timeout: float = 60.0):
    """``milvus-lite server`` on 127.0.0.1 and a free port with ``data_dir``; returns
    (process, port) once it takes connections."""
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen(["milvus-lite", "server", "--data-dir", str(data_dir),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("milvus-lite server did not start:\n" + Path(log_path).read_text())


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fresh_uri(port: int, prefix: str = "t") -> str:
    """A URI naming a collection nobody has used on that server."""
    return f"milvus://127.0.0.1:{port}/{prefix}_{uuid.uuid4().hex[:12]}"
