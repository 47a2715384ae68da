"""Crash safety: 100 randomized kill -9 trials of an index rebuild.

Usage: python bench/crash.py [--trials 100] [--seed 0] [--json] [--store milvus]

Each trial applies a random mix of additions, changes and deletions to a folder of generated
articles, then kills the rebuild with SIGKILL - half the trials by a timer at a random
moment of the run, half at a random line of the commit code (``rag/stores/embedded_write.py`` from
``write_generation`` on) - and opens the index: it must load, pass ``Store.check()`` and
equal the state before or the state after the rebuild. Prints trials, corrupt,
half_updated (goal: 0 and 0), how many ended old / new, and whether a rebuild after a
killed one recovers. The fake (hashing) embedder keeps a trial near one second, so the
commit, not the embedding, is where most kills land.

``--store milvus`` runs the trials against collections on a ``milvus-lite server`` started
for the run (``rag/stores/milvus_write.py`` is the commit code then); after each kill the victim is
rebuilt to the end and must equal a reference collection that was never killed
("repaired"), which is what the next ``rag index`` after a crash must do.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from rag.testing.crash import MilvusTrials, Trials  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--store", choices=["embedded", "milvus"], default="embedded")
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        if args.store == "milvus":
            from rag.testing.milvus import start_milvus, stop

            server, port = start_milvus(Path(tmp) / "milvus", Path(tmp) / "milvus.log")
            trials = MilvusTrials(Path(tmp) / "work", seed=args.seed, port=port)
        else:
            trials = Trials(Path(tmp), seed=args.seed)
        for n in range(args.trials):
            outcome = trials.trial("timer" if n % 2 == 0 else "line")
            if not args.json:
                print(f"\rtrial {n + 1}/{args.trials}: {outcome:<12}", end="", flush=True)
        if server is None:
            recovered = trials.recovers()
        else:
            recovered = trials.repaired == trials.results.trials
            stop(server)
    result = trials.results.as_dict() | {"recovers": recovered, "store": args.store,
                                          "seconds": round(time.perf_counter() - began, 1)}
    if args.json:
        print(json.dumps(result))
        return
    print()
    r = result
    print(f"trials {r['trials']} ({r['by_timer']} by timer, {r['by_line']} at a commit line): "
          f"corrupt {r['corrupt']}, half_updated {r['half_updated']}; "
          f"ended old {r['old']}, new {r['new']} "
          f"({r['finished_first']} timer runs finished before the kill); "
          f"a rebuild after a kill recovers: {r['recovers']}; {r['seconds']} s")
    for problem in r["problems"]:
        print("  ", problem)
    sys.exit(1 if r["corrupt"] or r["half_updated"] or not r["recovers"] else 0)


if __name__ == "__main__":
    main()
