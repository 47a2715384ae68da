"""Query latency of hybrid retrieval at 1k, 10k and 100k chunks.

Usage: python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200] [--json]
                               [--store embedded|milvus|milvus://HOST:PORT/NAME]

``--store milvus`` starts a ``milvus-lite server`` on 127.0.0.1 for the run (a collection
per size); a ``milvus://`` URI uses that server instead (collections NAME_<size>).
Run it once per store, one after the other, for figures that compare.

The corpus is synthesised from the BBC articles: 1,000 real chunks are embedded with the
bundled model, then larger indexes repeat them with their sentences recombined across
articles (so BM25 sees realistic, varied text) and with jittered copies of the real
vectors (so FAISS does the same work as on real data). Retrieval time excludes the query
embedding, which is timed separately.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answer.retrieval import Retriever  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.index.build import index_signature  # noqa: E402
from rag.index.embedding import SentenceTransformerEmbedder, embed  # noqa: E402
from rag.ingest.articles import load_articles  # noqa: E402
from rag.ingest.chunking import chunk_article, chunk_id, sentence_spans  # noqa: E402
from rag.stores.base import FileEntry, Store  # noqa: E402
from rag.stores.opening import write  # noqa: E402
from rag.types import Article, Chunk  # noqa: E402


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def build(index_dir: Path | str, size: int, texts: list[str], vectors: np.ndarray,
          sentences: list[str], settings: Settings, embedder, rng: random.Random) -> Store:
    entries, per_file = [], 500
    for f, start in enumerate(range(0, size, per_file)):
        articles, chunks, vecs, sentence_vecs = [], [], [], []
        for i in range(start, min(size, start + per_file)):
            base = i % len(texts)
            if i < len(texts):
                text = texts[base]
            else:  # recombine: the base chunk's first half with sentences from elsewhere
                text = texts[base][: len(texts[base]) // 2] + " " + " ".join(
                    rng.choice(sentences) for _ in range(3))
            aid = f"synth/{i}"
            articles.append(Article(aid, f"/synth/{f}.jsonl", f"Synthetic {i}", "2005-01-01",
                                    None, text))
            spans = tuple(sentence_spans(text)) or ((0, len(text)),)
            chunks.append(Chunk(chunk_id(aid, 0, len(text), text), aid, 0, 0, len(text), text,
                                spans))
            noise = np.random.default_rng(i)
            v = vectors[base]
            if i >= len(texts):
                v = v + noise.normal(0, 0.02, vectors.shape[1])
            vecs.append(v / np.linalg.norm(v))
            # One vector per sentence, as the index keeps: jittered copies of the chunk's.
            per = v + noise.normal(0, 0.05, (len(spans), vectors.shape[1]))
            sentence_vecs.append((per / np.linalg.norm(per, axis=1, keepdims=True))
                                 .astype(np.float32))
        entries.append(FileEntry(f"/synth/{f}.jsonl", str(f), "/synth", articles, chunks,
                                 np.array(vecs, dtype=np.float32), sentence_vecs))
    return write(index_dir, None, remove=[], add=entries,
                 signature=index_signature(settings, embedder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "bbc")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--store", default="embedded")
    args = parser.parse_args()
    server = None
    if args.store == "milvus":
        from rag.testing.milvus import start_milvus

        data = Path(tempfile.mkdtemp(prefix="bench-milvus-"))
        server, port = start_milvus(data / "data", data / "server.log")
        args.store = f"milvus://127.0.0.1:{port}/bench"
    rng = random.Random(0)

    embedder = SentenceTransformerEmbedder()
    settings = Settings()
    articles = [a for a in load_articles([args.data]).articles if a.id != "README"]
    rng.shuffle(articles)
    chunks = [c for a in articles[:400] for c in chunk_article(a, embedder.count_tokens)]
    texts = [c.text for c in chunks[:1000]]
    vectors = embed(embedder, texts)
    sentences = [s for t in texts for s in t.split(". ") if len(s) > 40]
    queries = [a.title for a in articles[400:400 + args.queries]]

    began = time.perf_counter()
    qvecs = embedder.embed_batch(queries)
    embed_ms = [(time.perf_counter() - began) * 1000 / len(queries)]
    single = []
    for q in queries[:50]:
        t = time.perf_counter()
        embedder.embed_batch([q])
        single.append((time.perf_counter() - t) * 1000)

    results = {"query_embedding_ms": {"p50": round(pct(single, 50), 2),
                                      "p95": round(pct(single, 95), 2),
                                      "batched_mean": round(embed_ms[0], 2)}}
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            where = Path(tmp) if args.store == "embedded" else f"{args.store}_{size}"
            t = time.perf_counter()
            store = build(where, size, texts, vectors, sentences, settings, embedder, rng)
            results[f"{size}_chunks_build_s"] = round(time.perf_counter() - t, 1)
            retriever = Retriever.from_settings(store, embedder, settings)
            for q, v in zip(queries[:10], qvecs[:10], strict=True):
                retriever.scores(q, query_vector=v)  # warm caches
            times = []
            for q, v in zip(queries, qvecs, strict=True):
                t = time.perf_counter()
                retriever.scores(q, query_vector=v)
                times.append((time.perf_counter() - t) * 1000)
            results[f"{size}_chunks_ms"] = {"p50": round(pct(times, 50), 2),
                                            "p95": round(pct(times, 95), 2),
                                            "mean": round(statistics.mean(times), 2)}
            store.close()
    if server is not None:
        from rag.testing.milvus import stop

        stop(server)
    results["store"] = args.store
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k:>22}: {v}")


if __name__ == "__main__":
    main()
