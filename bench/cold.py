"""Cold start: `rag ask` from a fresh process, a one-article `rag index`, `rag serve` ready.

Usage: python bench/cold.py [--articles 300] [--json]

"Cold" is a new process with the model files already read once (the OS cache warm), as
when a person asks a second question from the shell. Measured here, each in its own
process: `rag ask` on the seed index for 5 seed questions (first byte of the answer on
stdout, and the whole answer), `rag index` after one new article arrived in a folder of
generated articles (and a run with nothing to do), `rag serve` until the page answers, and
`import spacy` with torch importable against with torch kept out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from rag.testing.corpus import SEED, write_news  # noqa: E402
from rag.testing.load import SEED_QUESTIONS  # noqa: E402
from rag.testing.server import free_port  # noqa: E402

RAG = [sys.executable, "-m", "rag.serve.cli"]


def first_byte(cmd: list[str], env: dict) -> tuple[float, float]:
    """Seconds to the first byte on stdout and to the end of the process."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            cwd=ROOT)
    proc.stdout.read(1)
    first = time.perf_counter() - began
    proc.stdout.read()
    proc.wait()
    return first, time.perf_counter() - began


def timed(cmd: list[str], env: dict) -> float:
    began = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env, cwd=ROOT)
    return time.perf_counter() - began


def serve_ready(tmp: Path, env: dict) -> tuple[float, float]:
    """Seconds from `rag serve` to the first answer from the page's API, and its peak RSS
    in MB after that and a question the LLM answers."""
    import httpx

    port = free_port()
    began = time.perf_counter()
    proc = subprocess.Popen([*RAG, "serve", "--index-dir", str(tmp / "index"), "--seeds",
                             str(tmp / "seeds"), "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=60,
                                   json={"messages": [{"role": "user",
                                                       "content": SEED_QUESTIONS[3]}]})
                if reply.status_code == 200:
                    ready = time.perf_counter() - began
                    httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=120,
                               json={"messages": [{"role": "user", "content":
                                                   "What does Russia want from Ukraine?"}]})
                    status = Path(f"/proc/{proc.pid}/status").read_text()
                    peak_kb = int(status.split("VmHWM:")[1].split()[0])
                    return ready, peak_kb / 1024
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("rag serve stopped")
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "RAG_CACHE_DIR": str(Path.home() / ".cache" / "rag-news")}
        (tmp / "seeds").mkdir()
        shutil.copy(SEED, tmp / "seeds" / SEED.name)
        index = ["--index-dir", str(tmp / "index")]
        timed([*RAG, "index", str(tmp / "seeds"), *index], env)
        timed([*RAG, "ask", SEED_QUESTIONS[0], *index], env)  # model files read once
        firsts, totals = [], []
        for question in SEED_QUESTIONS:
            first, total = first_byte([*RAG, "ask", question, *index], env)
            firsts.append(first)
            totals.append(total)
        model = [first_byte([*RAG, "ask", "What does Russia want from Ukraine in a deal?",
                             *index], env) for _ in range(3)]
        result["ask_for_the_model"] = {
            "first_byte_p50_s": round(statistics.median(m[0] for m in model), 2),
            "total_p50_s": round(statistics.median(m[1] for m in model), 2)}
        result["ask"] = {"first_byte_p50_s": round(statistics.median(firsts), 2),
                         "total_p50_s": round(statistics.median(totals), 2),
                         "first_byte_s": [round(x, 2) for x in firsts],
                         "total_s": [round(x, 2) for x in totals]}

        news = tmp / "news"
        paths = write_news(news, 11, args.articles + 1, prefix="n")
        spare = paths.pop()
        moved = tmp / spare.name
        spare.rename(moved)
        big = ["--index-dir", str(tmp / "news-index")]
        full = timed([*RAG, "index", str(news), *big], env)
        moved.rename(news / spare.name)
        one = timed([*RAG, "index", str(news), *big], env)
        nothing = timed([*RAG, "index", str(news), *big], env)
        result["index"] = {"articles": args.articles, "full_build_s": round(full, 2),
                           "one_new_article_s": round(one, 2), "nothing_to_do_s": round(nothing, 2)}

        ready, peak = serve_ready(tmp, env)
        result["serve_ready_s"], result["serve_peak_rss_mb"] = round(ready, 2), round(peak)

        def spacy_import(code: str) -> float:
            began = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env)
            return round(time.perf_counter() - began, 2)

        result["import_spacy_s"] = {
            "torch_importable": spacy_import("import spacy"),
            "torch_kept_out": spacy_import(
                "from rag.answer.parser import import_spacy; import_spacy()")}
    if args.json:
        print(json.dumps(result))
        return
    a, i = result["ask"], result["index"]
    print(f"rag ask (cold, 5 seed questions): first byte p50 {a['first_byte_p50_s']} s, whole "
          f"answer p50 {a['total_p50_s']} s  {a['first_byte_s']} / {a['total_s']}")
    m = result["ask_for_the_model"]
    print(f"rag ask, a question the LLM answers (3 runs): first byte p50 "
          f"{m['first_byte_p50_s']} s, whole answer p50 {m['total_p50_s']} s")
    print(f"rag index, {i['articles']} articles: full build {i['full_build_s']} s, one new "
          f"article {i['one_new_article_s']} s, nothing to do {i['nothing_to_do_s']} s")
    print(f"rag serve: answers {result['serve_ready_s']} s after the command; peak RSS "
          f"{result['serve_peak_rss_mb']} MB")
    s = result["import_spacy_s"]
    print(f"import spacy: {s['torch_importable']} s with torch importable, "
          f"{s['torch_kept_out']} s with torch kept out")


if __name__ == "__main__":
    main()
