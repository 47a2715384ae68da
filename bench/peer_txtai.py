"""The issue's peer, txtai hybrid search, on the same questions and metric as
`rag eval retrieval` (for the README's comparison; txtai is never a dependency).

Usage, from the project root, in a scratch venv that sees this project's packages:
    python -m venv --system-site-packages /tmp/txtai-venv
    /tmp/txtai-venv/bin/pip install --no-deps txtai==9.14.0
    /tmp/txtai-venv/bin/python bench/peer_txtai.py [--data ../shared/data/squad_dev.json]
        [--limit N --seed S]

Indexes each document whole (the paragraphs are short) with the bundled all-MiniLM-L6-v2
and `Embeddings(hybrid=True)`, asks the answerable questions (or the seeded sample of N
that `rag eval retrieval --limit N --seed S` asks) and prints recall@1/5/10 and MRR@10 by
document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.evaluation import eval_retrieval, load_eval_file, sample  # noqa: E402
from rag.index.embedding import bundled_model_path  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "squad_dev.json")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from txtai import Embeddings

    data = load_eval_file(args.data)
    began = time.perf_counter()
    embeddings = Embeddings(path=str(bundled_model_path()), hybrid=True, content=False)
    embeddings.index((d["id"], d["text"], None) for d in data["docs"])
    index_s = time.perf_counter() - began

    def search(question: str, k: int) -> list:
        # Shaped like the project's passages, so the same metric code grades both.
        return [SimpleNamespace(article=SimpleNamespace(id=r[0]))
                for r in embeddings.search(question, k)]

    asked = sample([q for q in data["questions"] if not q.get("is_impossible")
                    and q.get("doc_id")], args.limit, args.seed)
    print(json.dumps({"peer": "txtai 9.14.0 Embeddings(hybrid=True)",
                      **eval_retrieval(search, asked),
                      "index_seconds": round(index_s, 1)}, indent=2))

if __name__ == "__main__":
    main()
