"""What the Milvus backend's differences cost in retrieval, one variant at a time.

Usage: python bench/milvus_quality.py [--data ../shared/data/squad_dev.json] [--limit 1000]
                                      [--seed 0] [--json]

On a seeded sample of the answerable questions, R@1/R@5/R@10/MRR@10 of:
  embedded                    the default engine (FTS5's Porter stemmer, exact phrases)
  embedded, no phrase signal  phrase_weight 0: what the word-pair signal is worth at all
  milvus                      milvus-lite server, words stemmed by rag.text (the default)
  milvus, unstemmed           the words as written (what a server analyzer without a
                              stemmer, such as Milvus Lite's, gives)
  milvus, no phrase signal    phrase_weight 0 (the pair approximation's share)
Each Milvus variant is a collection on a ``milvus-lite server`` started for the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag import text as textmod  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.evaluation import eval_retrieval, load_eval_file, prepare_index, sample  # noqa: E402
from rag.index.embedding import make_embedder  # noqa: E402
from rag.testing.milvus import start_milvus, stop  # noqa: E402


def unstemmed(text: str) -> str:
    return " ".join(textmod.words(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "squad_dev.json")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import rag.stores.milvus
    import rag.stores.milvus_write

    data = load_eval_file(args.data)
    answerable = [q for q in data["questions"] if not q.get("is_impossible") and q.get("doc_id")]
    questions = sample(answerable, args.limit, args.seed)
    settings = Settings.from_env()
    embedder = make_embedder(settings.embedder, settings.embed_batch_size,
                             settings.light_max_tokens)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        server, port = start_milvus(Path(tmp) / "data", Path(tmp) / "server.log")
        try:
            variants = [("embedded", None, {}, None),
                        ("embedded, no phrase signal", None, {"phrase_weight": 0.0}, None),
                        ("milvus", "stemmed", {}, None),
                        ("milvus, unstemmed", "plain", {}, unstemmed),
                        ("milvus, no phrase signal", "stemmed", {"phrase_weight": 0.0}, None)]
            for label, collection, changes, terms in variants:
                original = rag.stores.milvus.terms
                if terms is not None:  # both the writer and the reader use it
                    rag.stores.milvus.terms = rag.stores.milvus_write.terms = terms
                try:
                    base = replace(settings, **changes, store=(
                        f"milvus://127.0.0.1:{port}/{collection}" if collection else None))
                    ready = prepare_index(data, args.data, base, embedder)
                    bot = Assistant(ready, embedder=embedder)
                    result = eval_retrieval(lambda q, k, bot=bot: bot.search(q, k), questions,
                                            show_progress=not args.json)
                finally:
                    rag.stores.milvus.terms = rag.stores.milvus_write.terms = original
                results[label] = {k: result[k] for k in ("recall@1", "recall@5", "recall@10",
                                                         "mrr@10") if k in result}
                if not args.json:
                    print(f"{label:>28}: {results[label]}", flush=True)
        finally:
            stop(server)
    if args.json:
        print(json.dumps({"questions": len(questions), **results}, indent=2))


if __name__ == "__main__":
    main()
