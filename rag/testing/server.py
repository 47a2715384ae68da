"""Start the real app (`rag serve`) in a subprocess, for the live and load tests."""

import os
import socket
import subprocess
import sys
import time

from .corpus import ROOT, SEED


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp, *extra, articles=()):
    """Serve a seeds folder holding the seed article (and copies of ``articles``) on a
    free port; returns (process, url, seeds folder). The log is ``tmp/serve.log``."""
    seeds = tmp / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    (seeds / SEED.name).write_bytes(SEED.read_bytes())
    for path in articles:
        (seeds / path.name).write_bytes(path.read_bytes())
    port = free_port()
    env = {**os.environ, "RAG_CACHE_DIR": str(tmp / "cache"), "PYTHONUNBUFFERED": "1"}
    log = open(tmp / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--index-dir", str(tmp / "index"),
         "--seeds", str(seeds), "--port", str(port), *extra],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "serve.log").read_text()) from None
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("the app did not start:\n" + (tmp / "serve.log").read_text())
    return proc, url, seeds
