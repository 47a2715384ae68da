"""Sentence vectors without a second embedding pass: what retrieval loses.

Usage: python bench/sentence_vectors.py [--data ../shared/data/squad_dev.json] [--json]

Today every chunk's sentences are embedded again on their own after the chunks (about
twice the tokens of the chunk pass). Here the sentence vectors are instead pooled from the
chunk pass's token states ("late chunking"): the mean of the states of the sentence's own
word pieces, optionally minus ``lam`` x the chunk's mean state (the context every token
absorbed), normalised. Each variant indexes the evaluation documents into its own
directory (chunk vectors unchanged) and runs the retrieval evaluation over every
answerable question; the baseline is the project's own index (separate sentence pass).
Also reported: the seconds of the chunk pass, of the separate sentence pass, and of the
pooling.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import rag.indexing as indexing  # noqa: E402
from rag import Assistant, Settings  # noqa: E402
from rag.embedding import SentenceTransformerEmbedder  # noqa: E402
from rag.evaluation import eval_retrieval, load_eval_file, prepare_index  # noqa: E402


def late_vectors(model, chunks, lam: float) -> dict[str, np.ndarray]:
    """Sentence text -> vector pooled from its chunk's token states (first chunk wins)."""
    import torch

    out: dict[str, np.ndarray] = {}
    tok = model.tokenizer
    texts = [c.text for c in chunks]
    with torch.inference_mode():
        states = model.encode(texts, output_value="token_embeddings", batch_size=16,
                              convert_to_numpy=False, show_progress_bar=False)
    for c, hidden in zip(chunks, states, strict=True):
        hidden = hidden.float().numpy()
        enc = tok(c.text, return_offsets_mapping=True, truncation=True, max_length=256)
        offsets = enc["offset_mapping"]
        whole = hidden.mean(0)
        for s, e in c.sentences:
            a, b = s - c.start, e - c.start
            rows = [i for i, (x, y) in enumerate(offsets) if y > x and x >= a and y <= b]
            text = c.text[a:b]
            if not rows or text in out:
                continue
            v = hidden[rows].mean(0) - lam * whole
            out[text] = (v / max(np.linalg.norm(v), 1e-12)).astype(np.float32)
    return out


def late_index(data, data_path, settings, embedder, lam, workdir, timing) -> Settings:
    """The evaluation index with sentence vectors pooled from the chunk pass."""
    made, original_embed, original_chunk = [], indexing.embed, indexing.chunk_article

    def chunk_article(*args, **kwargs):
        chunks = original_chunk(*args, **kwargs)
        made.extend(chunks)
        return chunks

    def embed(engine, texts, *args, desc="embedding", **kwargs):
        if desc != "sentences":
            began = time.perf_counter()
            out = original_embed(engine, texts, *args, desc=desc, **kwargs)
            timing["chunk_pass_s"] = round(time.perf_counter() - began, 1)
            return out
        began = time.perf_counter()
        pooled = late_vectors(embedder._model, made, lam)
        timing["pooling_s"] = round(time.perf_counter() - began, 1)  # includes a re-run
        missing = [t for t in dict.fromkeys(texts) if t not in pooled]
        if missing:
            for t, v in zip(missing, original_embed(engine, missing), strict=True):
                pooled[t] = v
        timing["sentences_embedded_alone"] = len(missing)
        return np.stack([pooled[t] for t in texts])

    indexing.embed, indexing.chunk_article = embed, chunk_article
    try:
        return prepare_index(data, data_path, settings, embedder,
                             index_dir=workdir / f"late-{lam}")
    finally:
        indexing.embed, indexing.chunk_article = original_embed, original_chunk


def run_variant(data, data_path, settings, embedder, questions, lam, workdir) -> dict:
    timing: dict = {}
    eval_settings = late_index(data, data_path, settings, embedder, lam, workdir, timing)
    bot = Assistant(eval_settings, embedder=embedder)
    result = eval_retrieval(lambda q, k: bot.search(q, k), questions)
    return {**{k: result[k] for k in ("recall@1", "recall@5", "recall@10", "mrr@10")},
            **timing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "squad_dev.json")
    parser.add_argument("--lam", type=float, action="append", default=None,
                        help="Context share to subtract (repeat; default 0 and 0.5).")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--answers", type=int, default=None, metavar="N",
                        help="Instead: answer figures (rag eval answers) on a seeded sample "
                             "of N questions, today's index against lam's first value.")
    args = parser.parse_args()
    data = load_eval_file(args.data)
    settings = Settings()
    embedder = SentenceTransformerEmbedder()
    if args.answers:
        return answers(args, data, settings, embedder)
    questions = [q for q in data["questions"] if not q.get("is_impossible") and q.get("doc_id")]
    report = {"questions": len(questions)}
    with tempfile.TemporaryDirectory() as tmp:
        base_dir = Path(tmp) / "separate"
        began = time.perf_counter()
        base = prepare_index(data, args.data, settings, embedder, index_dir=base_dir)
        build = time.perf_counter() - began
        bot = Assistant(base, embedder=embedder)
        r = eval_retrieval(lambda q, k: bot.search(q, k), questions)
        report["separate sentence pass (today)"] = {
            **{k: r[k] for k in ("recall@1", "recall@5", "recall@10", "mrr@10")},
            "build_s": round(build, 1)}
        for lam in args.lam or [0.0, 0.5]:
            report[f"pooled from the chunk pass, lam {lam}"] = run_variant(
                data, args.data, settings, embedder, questions, lam, Path(tmp))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report.pop('questions')} answerable questions")
    for name, r in report.items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in r.items()))


def answers(args, data, settings, embedder) -> None:
    from rag.evaluation import eval_answers, sample

    questions = sample(data["questions"], args.answers, 0)
    keys = ("answer_accuracy", "right_with_citation", "refusal_accuracy", "false_refusal_rate",
            "citation_precision", "first_citation_precision", "modes")
    lam = (args.lam or [0.5])[0]
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("separate sentence pass (today)", f"pooled, lam {lam}"):
            if name.startswith("separate"):
                made = prepare_index(data, args.data, settings, embedder,
                                     index_dir=Path(tmp) / "separate")
            else:
                made = late_index(data, args.data, settings, embedder, lam, Path(tmp), {})
            bot = Assistant(made, embedder=embedder)
            r = eval_answers(lambda q, h, bot=bot: bot.ask(q, history=h), questions)
            report[name] = {k: r[k] for k in keys if k in r}
    for name, r in report.items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
