"""The reader alone on an evaluation file: ``python -m rag.answer.reader.evaluate --data F``.

Each question is read against the document that holds it (``doc_id``), as SQuAD readers are
measured: answerable questions give EM and F1 of the best span (forced, at most 30 word
pieces, SQuAD normalisation); with ``--threshold`` (default: the one in ``Settings``) the
share of unanswerable questions refused (margin below it) and of answerable ones refused,
``has_ans_f1`` (F1 on the answerable questions, a refused one scoring 0) and ``squad2_f1``
(the official SQuAD 2.0 F1: a refusal scores 1 on an unanswerable question, 0 on an
answerable one).
``--articles 13-24`` keeps the questions of those articles (1-based, in the file's order of
documents), so a threshold chosen on 1-12 (``--choose``) is reported on the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _article(doc_id: str) -> str:
    head, _, tail = doc_id.rpartition("_")
    return head if tail.isdigit() else doc_id


def load_dev(path: Path, articles: range | None = None) -> list[dict]:
    """Questions of an evaluation file that names its documents inline, each with its
    document's text, its answers, whether it is unanswerable, and its article's number."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    docs = {d["id"]: d for d in data["docs"]}
    order: dict[str, int] = {}
    for d in data["docs"]:
        order.setdefault(_article(d["id"]), len(order))
    rows = []
    for q in data["questions"]:
        doc = docs.get(q.get("doc_id"))
        if doc is None:
            continue
        number = order[_article(doc["id"])]
        if articles is not None and number not in articles:
            continue
        rows.append({"question": q["question"], "context": doc["text"],
                     "answers": q.get("answers") or [], "impossible": bool(q.get("is_impossible")),
                     "article": number})
    return rows


def score_spans(spans: list[str], answers: list[list[str]]) -> dict:
    """SQuAD EM and F1 (best over each question's answers, ``text.span_scores``),
    averaged."""
    from rag.text import span_scores

    em = f1 = 0.0
    for span, truths in zip(spans, answers, strict=True):
        e, f = span_scores(span, truths)
        em += e
        f1 += f
    n = max(1, len(spans))
    return {"em": round(em / n, 4), "f1": round(f1 / n, 4), "n": len(spans)}


def figures(rows: list[dict], spans: list[str], margins: list[float],
            threshold: float) -> dict:
    """The reader's figures on ``rows`` (``load_dev``'s) given each row's best span and its
    margin: EM and F1 of the forced span on the answerable rows; at ``threshold`` the share
    of answerable and unanswerable rows refused (margin below it), ``has_ans_f1`` and
    ``squad2_f1``."""
    from rag.text import span_scores

    answerable = [i for i, r in enumerate(rows) if not r["impossible"]]
    impossible = [i for i, r in enumerate(rows) if r["impossible"]]
    out = score_spans([spans[i] for i in answerable], [rows[i]["answers"] for i in answerable])
    kept = [0.0 if margins[i] < threshold else span_scores(spans[i], rows[i]["answers"])[1]
            for i in answerable]
    refused = sum(margins[i] < threshold for i in impossible)
    out["threshold"] = threshold
    out["answerable_refused"] = round(
        sum(margins[i] < threshold for i in answerable) / max(1, len(answerable)), 4)
    out["unanswerable_refused"] = round(refused / max(1, len(impossible)), 4)
    out["has_ans_f1"] = round(sum(kept) / max(1, len(answerable)), 4)
    out["squad2_f1"] = round((sum(kept) + refused) / max(1, len(rows)), 4)
    out["unanswerable"] = len(impossible)
    return out


def choose_threshold(margins: list[float], share: float) -> float:
    """The highest threshold that refuses at most ``share`` of these (answerable
    questions') margins."""
    ranked = sorted(margins)
    return round(ranked[int(share * len(ranked))], 3) if ranked else 0.0


def _range(text: str) -> range:
    lo, _, hi = text.partition("-")
    return range(int(lo) - 1, int(hi or lo))


def main(argv: list[str] | None = None) -> int:
    from rag.answer.reader.model import Reader
    from rag.config import Settings

    p = argparse.ArgumentParser(prog="python -m rag.answer.reader.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="evaluation file with inline docs")
    p.add_argument("--articles", type=str, default=None, help="e.g. 13-24 (1-based)")
    p.add_argument("--limit", type=int, default=None, help="at most this many questions")
    p.add_argument("--threshold", type=float, default=Settings.reader_threshold,
                   help="refuse when the best span's margin over 'no answer' is below this")
    p.add_argument("--choose", type=float, default=None, metavar="SHARE",
                   help="choose the threshold instead: the highest that refuses at most this "
                        "share of the answerable questions (e.g. 0.08)")
    p.add_argument("--model", type=Path, default=None,
                   help="a reader directory (reader.safetensors, reader.json) instead of the "
                        "shipped one")
    p.add_argument("--margins", type=Path, default=None,
                   help="write each question's margin and whether it is answerable (JSON)")
    args = p.parse_args(argv)
    rows = load_dev(args.data, _range(args.articles) if args.articles else None)
    if args.limit:
        import random

        rows = random.Random(0).sample(rows, min(args.limit, len(rows)))
    reader = Reader(model_dir=args.model) if args.model else Reader()
    started = time.time()
    readings = []
    for r in rows:
        readings.append(reader.read(r["question"], [r["context"]])[0])
    seconds = time.time() - started
    margins = [x.margin for x in readings]
    if args.choose is not None:
        args.threshold = choose_threshold(
            [m for r, m in zip(rows, margins, strict=True) if not r["impossible"]], args.choose)
    result = figures(rows, [r["context"][x.start:x.end] for r, x in zip(rows, readings,
                                                                         strict=True)],
                     margins, args.threshold)
    result["seconds_per_question"] = round(seconds / max(1, len(rows)), 4)
    if args.margins:
        args.margins.write_text(json.dumps(
            [{"margin": x.margin, "impossible": r["impossible"], "article": r["article"]}
             for r, x in zip(rows, readings, strict=True)]))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
