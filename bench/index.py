"""Indexing throughput and incremental cost on the 2,225 BBC articles.

Usage: python bench/index.py [--data ../shared/data/bbc] [--limit N] [--json]
                           [--store embedded|milvus|milvus://HOST:PORT/NAME]

Prints articles, chunks, tokens embedded, seconds, tokens/s and that figure as a share of
this machine's fp32 bound (matmul GFLOP/s measured in the same run, divided by the
embedder's FLOPs per token), peak RSS, then the cost of adding, changing and deleting one
article and of a no-op rebuild. Model load is excluded and reported separately. The ideal
a full build is held to: embedding each distinct chunk text once with the same engine
(``embedding.embed``), timed in the same run after the build; ``build_over_chunk_pass`` is
the build's seconds over that (target <= 1.3; about 2 before the sentence vectors were
pooled from the chunk pass).
``--store milvus`` writes the index to a ``milvus-lite server`` started for the run.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.index.build import sync  # noqa: E402
from rag.index.embedding import SentenceTransformerEmbedder, embed  # noqa: E402
from rag.stores.opening import open_store  # noqa: E402


def matmul_gflops(seconds: float = 3.0) -> float:
    """Sustained fp32 GEMM throughput with torch, the engine the embedder runs on."""
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(3):
        a @ b
    n, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        a @ b
        n += 1
    return 2 * 2048**3 * n / (time.perf_counter() - began) / 1e9


def flops_per_token(model, mean_len: float) -> float:
    """2 x the non-embedding weights, plus attention's QK^T and AV at the mean length."""
    bert = model[0].auto_model
    cfg = bert.config
    weights = sum(p.numel() for n, p in bert.named_parameters()
                  if "embeddings" not in n and p.dim() > 1)
    return 2 * weights + 4 * cfg.num_hidden_layers * cfg.hidden_size * mean_len


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "bbc")
    parser.add_argument("--limit", type=int, default=0, help="index only the first N files")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--store", default="embedded")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    corpus = work / "bbc"
    files = sorted(p for p in args.data.rglob("*.txt") if p.name != "README.TXT")
    if args.limit:
        files = files[:args.limit]
    for src in files:
        dst = corpus / src.relative_to(args.data)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    server = None
    if args.store == "milvus":
        from rag.testing.milvus import start_milvus

        server, port = start_milvus(work / "milvus", work / "milvus.log")
        args.store = f"milvus://127.0.0.1:{port}/bench"
    settings = Settings(index_dir=work / "index",
                        store=None if args.store == "embedded" else args.store)

    gflops = matmul_gflops()
    began = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    embedder.count_tokens(["warm up"])
    embedder.embed_batch(["warm up"])
    load_s = time.perf_counter() - began

    report = sync([corpus], settings, embedder, show_progress=not args.json)
    store = open_store(settings.location)
    chunks = store.chunks(store.chunk_ids())
    texts = [c.text for c in chunks.values()]
    sentences = [c.text[s - c.start:e - c.start] for c in chunks.values()
                 for s, e in c.sentences]
    # Each distinct chunk text is embedded once (a duplicate article once); its sentences'
    # vectors are pooled from that pass. + [CLS] and [SEP] for each text.
    distinct_texts, distinct_sentences = list(set(texts)), list(set(sentences))
    chunk_tokens = sum(n + 2 for n in embedder.count_tokens(distinct_texts))
    sentence_tokens = sum(n + 2 for n in embedder.count_tokens(distinct_sentences))
    tokens = chunk_tokens
    fpt = flops_per_token(embedder._model, chunk_tokens / len(distinct_texts))
    tokens_per_s = tokens / report.seconds
    began = time.perf_counter()
    embed(embedder, distinct_texts, settings.embed_chunk)
    chunk_pass_s = time.perf_counter() - began
    results = {
        "articles": store.count("articles"), "files": len(files),
        "skipped": [s.to_dict() for s in report.skipped], "chunks": len(texts),
        "sentences": len(sentences), "distinct_chunk_texts": len(distinct_texts),
        "distinct_sentences": len(distinct_sentences), "chunk_tokens": chunk_tokens,
        "sentence_tokens_not_embedded": sentence_tokens,
        "tokens_embedded": tokens, "seconds": round(report.seconds, 2),
        "chunk_pass_alone_s": round(chunk_pass_s, 2),
        "build_over_chunk_pass": round(report.seconds / chunk_pass_s, 3),
        "tokens_per_s": round(tokens_per_s),
        "matmul_gflops": round(gflops, 1), "mflop_per_token": round(fpt / 1e6, 1),
        "fp32_bound_tokens_per_s": round(gflops * 1e9 / fpt),
        "share_of_fp32_bound": round(tokens_per_s * fpt / (gflops * 1e9), 3),
        "model_load_s": round(load_s, 2), "peak_rss_mb": round(peak_rss_mb()),
    }
    store.close()

    def timed(label: str) -> None:
        r = sync([corpus], settings, embedder)
        results[label] = {"seconds": round(r.seconds, 3), "chunks_embedded": r.chunks_embedded,
                          "sentences_embedded": r.sentences_embedded}

    new = corpus / "new_article.txt"
    new.write_text((args.data / "tech" / "001.txt").read_text() + "\nA fresh paragraph.\n")
    timed("add_one")
    with open(corpus / files[0].relative_to(args.data), "a") as f:
        f.write("\nThis story was updated with one more paragraph.\n")
    timed("change_one")
    new.unlink()
    timed("delete_one")
    timed("noop")
    results["peak_rss_mb"] = round(peak_rss_mb())
    results["store"] = args.store
    if server is not None:
        from rag.testing.milvus import stop

        stop(server)
    shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k:>26}: {v}")


if __name__ == "__main__":
    main()
