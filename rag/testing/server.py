"""Start the real app (`rag serve`) in a subprocess, for the live and load tests."""

import os
import socket
import subprocess
import sys
import time

from rag.testing.corpus import ROOT, SEED


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
        [sys.executable, "-m", "rag.serve.cli", "serve", "--index-dir", str(tmp / "index"),
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


def start_model_server(model_path, log_path, threads: int = 2, alias: str = "gemma3-270m"):
    """Serve a .gguf file with ``python -m llama_cpp.server`` (the ``llama-cpp-python
    [server]`` extra) on 127.0.0.1 and a free port; returns (process, base URL ending in
    /v1). Greedy and seeded like the in-process model, so both give the same drafts."""
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
         "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "2048", "--seed", "0", "--n_threads", str(threads),
         "--n_threads_batch", str(threads),
         # Requests wait for each other instead of cutting the running answer short.
         "--interrupt_requests", "False",
         # Its default computes logits for every prompt token: with Gemma's 262k-word
         # vocabulary that made prompts ~1.7x slower than in-process.
         "--logits_all", "False"],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(open(log_path).read()) from None
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the model server did not start:\n" + open(log_path).read())


def stop(proc) -> None:
    """Stop a server process (and wait for it)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
