"""Load: 8 concurrent chat sessions while articles are added to and deleted from the index.

Usage: python bench/load.py [--clients 8] [--questions 5] [--seed 0] [--json]
       python bench/load.py --model-servers [--clients 8] [--questions 5] [--json]

Starts the real app (`rag serve`, bundled models) on a temp copy of the seed article and
20 generated articles (``rag.testing.corpus``); 8 `gradio_client` sessions each ask about
5 questions (the seed's questions, the served articles' headlines, headlines of articles
that come and go), while this process adds and deletes other generated articles and
re-indexes after each
change. Prints requests, errors, mixed answers (citing an article that was not in the
index live while the question was answered), refusals, latency p50/p95 and the churn.
Goal: 0 errors, 0 mixed answers.

With --model-servers (no churn): the same app generating in-process, then through one and
through two `python -m llama_cpp.server` replicas of the bundled Gemma file behind
--llm-url (round robin); 8 `openai` clients share 8 x 5 questions that need the LLM,
through the app's /v1/chat/completions. Prints p50/p95, answers per minute and modes for
each setup in one run. On this 2-core machine the replicas share the same two cores, so
a second one cannot add throughput; with one machine per replica it would.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from rag import Assistant, Settings  # noqa: E402
from rag.answer.generation import resolve_model  # noqa: E402
from rag.testing.load import model_questions, pick_articles, run_load, run_openai_load  # noqa: E402
from rag.testing.server import start_model_server, start_server, stop  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--model-servers", action="store_true",
                        help="Compare in-process generation with 1 and 2 model servers.")
    args = parser.parse_args()
    if args.model_servers:
        return model_servers(args)
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


def model_servers(args) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stable, _ = pick_articles(tmp / "pool", n_stable=20, n_churn=0, seed=args.seed)
        questions = model_questions(stable, args.clients * args.questions, args.seed)
        gemma = resolve_model("gemma3-270m", Path(tmp) / "cache")
        for replicas in (0, 1, 2):
            run = tmp / f"run{replicas}"
            run.mkdir()
            servers = [start_model_server(gemma, run / f"llm{i}.log") for i in range(replicas)]
            extra = [a for _, url in servers for a in ("--llm-url", url)]
            proc, url, _ = start_server(run, *extra, articles=stable)
            try:
                name = f"{replicas} model server{'s' * (replicas != 1)}" if replicas \
                    else "in-process"
                results[name] = run_openai_load(url, questions, args.clients)
            finally:
                stop(proc)
                for server, _ in servers:
                    stop(server)
            # The model servers' own busy time (llama.cpp's timing lines): what one
            # machine per replica would take off the app's machine.
            busy = [sum(float(m) for m in re.findall(r"total time =\s+([\d.]+) ms",
                                                      (run / f"llm{i}.log").read_text()))
                    / 1000 for i in range(replicas)]
            if busy:
                results[name]["llm_busy_s"] = [round(b, 1) for b in busy]
    if args.json:
        print(json.dumps(results))
        return
    for name, r in results.items():
        print(f"{name:>16}: {r['requests']} requests, errors {r['errors']}, latency p50 "
              f"{r['latency_s']['p50']} s, p95 {r['latency_s']['p95']} s, "
              f"{r['per_minute']} answers/min, modes {r['modes']}"
              + (f", model servers busy {r['llm_busy_s']} s" if "llm_busy_s" in r else ""))
        for line in r["error_examples"]:
            print("   ", line)


if __name__ == "__main__":
    main()
