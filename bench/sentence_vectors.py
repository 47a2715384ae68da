"""Sentence vectors from the chunk pass against a second embedding pass.

Usage: python bench/sentence_vectors.py [--data ../shared/data/squad_dev.json] [--json]
       python bench/sentence_vectors.py --answers 300 [--seed 0] [--gate 0.45 0.52]
       python bench/sentence_vectors.py --gate-grid 600 --seed 1
       python bench/sentence_vectors.py --int8 3000

The index pools each chunk's sentence vectors from the chunk pass's token states
(``rag.index.pooling``: the mean of the sentence's own word pieces' states minus ``lam`` x the
chunk's mean state, normalised), compared with embedding every sentence again on its own
after the chunks (about twice the tokens of the chunk pass). Each variant indexes the
evaluation documents into its own directory (chunk vectors identical) and runs the
retrieval evaluation over every answerable question, with the seconds each build took.

``--answers N`` compares the answer figures on a seeded sample instead (``--gate MIN_SCORE
MIN_DENSE`` sets the gate of the separate-pass index, whose cosines run about 0.07 higher;
by default both use today's settings). ``--gate-grid N`` shows, on a seeded sample of N
questions (use another seed than the answers'), which thresholds on the pooled index refuse
as the separate pass's gate (0.45 / 0.52) did, from the gate's inputs without answering.
``--int8 N`` times another way to a cheaper sentence pass, torch's dynamic int8 linear
layers, on N of the documents' sentences, with the cosine of its vectors to fp32's.
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

import rag.index.pooling as pooling  # noqa: E402
from rag import Assistant, Settings  # noqa: E402
from rag.evaluation import eval_retrieval, load_eval_file, prepare_index  # noqa: E402
from rag.index.embedding import SentenceTransformerEmbedder  # noqa: E402

SEPARATE = "separate sentence pass (before)"


class Separate:
    """The embedder without its token states: the index embeds every sentence again."""

    def __init__(self, embedder):
        self.inner = embedder
        self.model_id, self.dimension = embedder.model_id, embedder.dimension

    def embed_batch(self, texts):
        return self.inner.embed_batch(texts)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


def build(name: str, data, data_path, settings, embedder, workdir: Path, lam: float = 0.5):
    """The evaluation index one way, and the seconds it took."""
    pooling.CONTEXT_SHARE = lam
    began = time.perf_counter()
    made = prepare_index(data, data_path, settings,
                         Separate(embedder) if name == SEPARATE else embedder,
                         index_dir=workdir / name.replace(" ", "_"))
    return made, round(time.perf_counter() - began, 1)


def variants(args) -> list[tuple[str, float]]:
    return [(SEPARATE, 0.5)] + [(f"pooled, lam {lam}", lam) for lam in args.lam or [0.5]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "squad_dev.json")
    parser.add_argument("--lam", type=float, action="append", default=None,
                        help="Share of the chunk's mean taken out (repeat; default 0.5).")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--answers", type=int, default=None, metavar="N",
                        help="Instead: answer figures (rag eval answers) on a seeded sample "
                             "of N questions.")
    parser.add_argument("--seed", type=int, default=0, help="The sample's seed.")
    parser.add_argument("--gate", type=float, nargs=2, default=None,
                        metavar=("MIN_SCORE", "MIN_DENSE"),
                        help="The gate's thresholds for the separate-pass index (--answers).")
    parser.add_argument("--gate-grid", type=int, default=None, metavar="N",
                        help="Instead: the gate's refusals on N questions, both indexes.")
    parser.add_argument("--int8", type=int, default=None, metavar="N",
                        help="Instead: fp32 against dynamic int8 on N sentences.")
    args = parser.parse_args()
    data = load_eval_file(args.data)
    settings = Settings()
    embedder = SentenceTransformerEmbedder()
    if args.int8:
        return int8(args, data, embedder)
    if args.gate_grid:
        return gate_grid(args, data, settings, embedder)
    if args.answers:
        return answers(args, data, settings, embedder)
    questions = [q for q in data["questions"] if not q.get("is_impossible") and q.get("doc_id")]
    report = {"questions": len(questions)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, lam in variants(args):
            made, seconds = build(name, data, args.data, settings, embedder, Path(tmp), lam)
            bot = Assistant(made, embedder=embedder)
            r = eval_retrieval(lambda q, k, bot=bot: bot.search(q, k), questions)
            report[name] = {**{k: r[k] for k in ("recall@1", "recall@5", "recall@10",
                                                 "mrr@10")}, "build_s": seconds}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report.pop('questions')} answerable questions")
    for name, r in report.items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in r.items()))


def answers(args, data, settings, embedder) -> None:
    from rag.evaluation import eval_answers, sample

    questions = sample(data["questions"], args.answers, args.seed)
    keys = ("answer_accuracy", "right_with_citation", "refusal_accuracy", "false_refusal_rate",
            "citation_precision", "first_citation_precision", "modes")
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, lam in variants(args):
            made, _ = build(name, data, args.data, settings, embedder, Path(tmp), lam)
            if name == SEPARATE and args.gate:
                made = made.with_(gate_min_score=args.gate[0], gate_min_dense=args.gate[1])
                name += f", gate {args.gate[0]} / {args.gate[1]}"
            bot = Assistant(made, embedder=embedder)
            r = eval_answers(lambda q, h, bot=bot: bot.ask(q, history=h), questions)
            report[name] = {k: r[k] for k in keys if k in r}
    for name, r in report.items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in r.items()))


def gate_grid(args, data, settings, embedder) -> None:
    """Refusals of unanswerable and answerable questions by the separate pass's gate on
    its index, and by a grid of thresholds on the pooled one."""
    from rag.answer.citations import Gate
    from rag.evaluation import sample

    questions = [q for q in sample(data["questions"], args.gate_grid, args.seed)
                 if not q.get("followup")]
    inputs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, lam in variants(args)[:2]:
            made, _ = build(name, data, args.data, settings, embedder, Path(tmp), lam)
            answerer = Assistant(made, embedder=embedder).answerer()
            inputs[name] = []
            for q in questions:
                _, query = answerer.read(q["question"], [])
                inputs[name].append(answerer.ground(q["question"], [], None, query).evidence)
    impossible = np.array([bool(q.get("is_impossible")) for q in questions])

    def refusals(name, gate):
        ok = np.array([gate.answerable(ev, q["question"])
                       for ev, q in zip(inputs[name], questions, strict=True)])
        return (f"refuses {(~ok[impossible]).mean():.3f} of unanswerable, "
                f"{(~ok[~impossible]).mean():.3f} of answerable")

    for name in inputs:
        dense = [max((e.dense for e in ev), default=0.0) for ev in inputs[name]]
        print(f"{name}: best cosine p10/p25/p50 {np.percentile(dense, [10, 25, 50]).round(3)}")
    print(f"{SEPARATE}, gate 0.45 / 0.52: {refusals(SEPARATE, Gate(0.45, 0.25, 0.52))}")
    pooled = list(inputs)[1]
    for min_score in (0.40, 0.42, 0.45):
        for min_dense in (0.44, 0.45, 0.46, 0.48, 0.52):
            gate = Gate(min_score=min_score, min_dense=min_dense)
            print(f"{pooled}, gate {min_score} / {min_dense}: {refusals(pooled, gate)}")


def int8(args, data, embedder) -> None:
    """Seconds to embed N of the documents' sentences in fp32 and with torch's dynamic
    int8 linear layers, and the cosine between the two."""
    import torch

    from rag.ingest.chunking import sentence_spans

    texts = [t for d in data["docs"] for s, e in sentence_spans(d["text"])
             if len(t := d["text"][s:e]) > 20][:args.int8]
    model = embedder._model
    began = time.perf_counter()
    full = model.encode(texts, batch_size=64, normalize_embeddings=True)
    fp32_s = time.perf_counter() - began
    quantised = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear},
                                                       dtype=torch.qint8)
    began = time.perf_counter()
    small = quantised.encode(texts, batch_size=64, normalize_embeddings=True)
    int8_s = time.perf_counter() - began
    cos = (full * small).sum(1)
    print(f"{len(texts)} sentences: fp32 {fp32_s:.1f} s, int8 {int8_s:.1f} s "
          f"(x{fp32_s / int8_s:.2f}); cosine mean {cos.mean():.4f}, min {cos.min():.4f}")


if __name__ == "__main__":
    main()
