"""Choose the reader's refusal threshold on the whole pipeline (retrieval, then the reader).

Usage:
  python bench/reader_threshold.py --data ../shared/data/squad_dev.json --articles 1-12 \
      --limit 300 --data ../shared/data/news_qa_dev.json --passages 1 [--json]

Every question is answered once with no threshold (each answer the reader gives records its
margin over "no answer"); then, for each threshold of a grid, an answer of a kind the reader
answers counts as refused when its margin is below the threshold. Per file and threshold it
prints the share of answerable questions answered right and of unanswerable ones refused,
and picks the threshold under which the most questions of all files are answered right or
rightly refused (of thresholds within 0.005 of the best, the highest: it refuses most).
The model's wording is left out (``--with-model`` keeps it): it changes which words an
answer has, never whether it is refused.

The threshold is chosen on squad_dev.json's articles 1-12 and news_qa_dev.json only;
``--articles 13-24`` reports a threshold (``--threshold``) on the others.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rag.answer.answerer as answering  # noqa: E402
from rag import Assistant, Settings  # noqa: E402
from rag.answer.reader.evaluate import _article, _range  # noqa: E402
from rag.evaluation import _right, load_eval_file, prepare_index  # noqa: E402


def _questions(data: dict, articles: str | None, limit: int | None, seed: int) -> list[dict]:
    questions = data["questions"]
    if articles and data.get("docs"):
        order: dict[str, int] = {}
        for d in data["docs"]:
            order.setdefault(_article(d["id"]), len(order))
        keep = _range(articles)
        questions = [q for q in questions if order.get(_article(q.get("doc_id", "")), -1) in keep]
    if limit and limit < len(questions):
        picked = sorted(random.Random(seed).sample(range(len(questions)), limit))
        questions = [questions[i] for i in picked]
    return questions


def run(path: Path, articles: str | None, limit: int | None, seed: int, with_model: bool,
        tmp: Path, passages: int | None = None) -> list[dict]:
    data = load_eval_file(path)
    bot = Assistant(Settings.from_env(reader_threshold=-1e9, reader_passages=passages))
    settings = prepare_index(data, path, bot.settings, bot.embedder)
    scorer = Assistant(settings, embedder=bot.embedder)
    margins: list[float | None] = []
    original = answering.read_answer

    def recording(*args, **kwargs):
        found = original(*args, **kwargs)
        margins.append(found.margin if found is not None else None)
        return found

    answering.read_answer = recording
    if not with_model:
        answering.Answerer._generate = lambda self, grounds: ("extractive", None)
    rows = []
    for q in _questions(data, articles, limit, seed):
        before = len(margins)
        answer = scorer.ask(q["question"])
        margin = margins[-1] if len(margins) > before else None
        rows.append({"id": q.get("id"), "kind": answer.kind, "read": len(margins) > before,
                     "margin": margin, "impossible": bool(q.get("is_impossible")),
                     "refused": answer.refused, "right": _right(q, answer)})
    answering.read_answer = original
    return rows


def grade(rows: list[dict], threshold: float) -> dict:
    answerable = [r for r in rows if not r["impossible"]]
    impossible = [r for r in rows if r["impossible"]]

    def refused(r) -> bool:
        if r["read"]:
            return r["margin"] is None or r["margin"] < threshold
        return r["refused"]

    right = sum(1 for r in answerable if r["right"] and not refused(r))
    held = sum(1 for r in impossible if refused(r))
    return {"right": round(right / max(1, len(answerable)), 4),
            "refused": round(held / max(1, len(impossible)), 4),
            "false_refusals": round(sum(refused(r) for r in answerable) / max(1, len(answerable)),
                                    4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, action="append", required=True)
    p.add_argument("--articles", default=None, help="for files with inline docs, e.g. 1-12")
    p.add_argument("--limit", type=int, default=None, help="questions per file (seeded)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=None,
                   help="report this threshold instead of choosing one")
    p.add_argument("--with-model", action="store_true")
    p.add_argument("--passages", type=int, default=None,
                   help="passages the reader reads (default: Settings.reader_passages)")
    p.add_argument("--rows", type=Path, default=None, help="save the answers' margins (JSON)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = {str(d): run(d, args.articles, args.limit, args.seed, args.with_model,
                             Path(tmp), args.passages) for d in args.data}
    if args.rows:
        args.rows.write_text(json.dumps(files))
    grid = [round(-5 + 0.25 * i, 2) for i in range(81)]  # -5 .. 15
    table = {t: {f: grade(rows, t) for f, rows in files.items()} for t in grid}

    def correct(t: float) -> float:
        """Answerable questions answered right plus unanswerable ones refused, over all."""
        rows = [r for f in files.values() for r in f]
        g = grade(rows, t)
        answerable = sum(1 for r in rows if not r["impossible"])
        return (g["right"] * answerable + g["refused"] * (len(rows) - answerable)) / len(rows)

    # The most refusing threshold whose share correct is within 0.005 of the best.
    best = max(correct(t) for t in grid)
    chosen = args.threshold if args.threshold is not None else max(
        t for t in grid if correct(t) >= best - 0.005)
    result = {"threshold": chosen,
              "figures": {f: grade(rows, chosen) for f, rows in files.items()},
              "questions": {f: len(rows) for f, rows in files.items()}}
    if args.json:
        print(json.dumps({**result, "grid": table}, indent=2))
        return
    for t in grid:
        cells = "  ".join(f"{Path(f).stem}: right {g['right']:.3f} refused {g['refused']:.3f}"
                          for f, g in table[t].items())
        print(f"{t:>6.2f}  {cells}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
