"""Load: 8 concurrent chat sessions while articles are added to and deleted from the index.

Usage: python bench/load.py [--clients 8] [--questions 5] [--seed 0] [--json]

Starts the real app (`rag serve`, bundled models) on a temp copy of the seed article and
20 generated articles (``rag.testing.corpus``); 8 `gradio_client` sessions each ask about
5 questions (the seed's questions, the served articles' headlines, headlines of articles
that come and go), while this process adds and deletes other generated articles and
re-indexes after each
change. Prints requests, errors, mixed answers (citing an article that was not in the
index live while the question was answered), refusals, latency p50/p95 and the churn.
Goal: 0 errors, 0 mixed answers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from rag import Assistant, Settings  # noqa: E402
from rag.testing.load import pick_articles, run_load  # noqa: E402
from rag.testing.server import start_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stable, churn_pool = pick_articles(tmp / "pool", n_stable=20, n_churn=12,
                                           seed=args.seed)
        proc, url, seeds = start_server(tmp, articles=stable)
        try:
            bot = Assistant(Settings(index_dir=tmp / "index", seeds_dir=seeds))
            result = run_load(url, bot, seeds, stable, churn_pool, clients=args.clients,
                              per_client=args.questions, seed=args.seed)
        finally:
            proc.terminate()
            proc.wait(30)
    if args.json:
        print(json.dumps(result))
        return
    r = result
    print(f"{r['requests']} requests from {args.clients} clients in {r['seconds']} s, "
          f"{r['index_changes']} index changes meanwhile: errors {r['errors']}, "
          f"mixed answers {r['mixed_answers']}, refusals {r['refusals']}, "
          f"latency p50 {r['latency_s']['p50']} s, p95 {r['latency_s']['p95']} s")
    for line in r["error_examples"] + r["mixed_examples"]:
        print("  ", line)
    print("churn:", ", ".join(r["churn"]))
    sys.exit(1 if r["errors"] or r["mixed_answers"] else 0)


if __name__ == "__main__":
    main()
