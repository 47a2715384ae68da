"""Answer latency and memory on the seed article with the real bundled models.

Usage: python bench/answers.py [--model gemma3-270m] [--rounds 3] [--json]

Asks every question of ../shared/data/seed_qa.json (and its follow-up) ``rounds`` times
after one warm-up question, and prints time to first token p50, whole answer p50/p95,
model load time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag import Assistant, Settings  # noqa: E402
from rag.evaluation import percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "seed_qa.json")
    parser.add_argument("--model", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        bot = Assistant(Settings.from_env(index_dir=Path(tmp) / "index", model=args.model))
        bot.index([ROOT / "seeds"])
        began = time.perf_counter()
        bot.ask("What did Rutte say?")  # loads both models
        load_s = time.perf_counter() - began
        questions = json.loads(args.data.read_text())["questions"]
        firsts, totals, modes = [], [], {}
        for _ in range(args.rounds):
            for q in questions:
                turns = [(q["question"], [])]
                if q.get("followup"):
                    turns.append((q["followup"]["question"], [(q["question"], "")]))
                for question, history in turns:
                    answer = bot.ask(question, history=history)
                    modes[answer.mode] = modes.get(answer.mode, 0) + 1
                    totals.append(answer.timings["total_ms"])
                    if answer.timings.get("first_token_ms") is not None:
                        firsts.append(answer.timings["first_token_ms"])
        results = {
            "model": bot.settings.model, "answers": len(totals), "modes": modes,
            "first_token_ms_p50": round(percentile(firsts, 50), 1),
            "total_ms_p50": round(percentile(totals, 50), 1),
            "total_ms_p95": round(percentile(totals, 95), 1),
            "first_answer_with_model_loads_s": round(load_s, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k:>32}: {v}")


if __name__ == "__main__":
    main()
