"""The bundled embedder on other inference engines: is any faster than torch here?

Usage: python bench/embed_backends.py [--articles 60] [--json]

Embeds the chunks and sentences of a sample of BBC articles (what `rag index` embeds) with
the project's embedder (torch), then with the same weights on llama.cpp (written once as
GGUF, fp32 and q8_0, flash attention) and on ONNX Runtime (exported, BERT fusions), each
given the project's own word pieces. Prints tokens/s, the share of this machine's fp32
bound (as bench/index.py measures it) and the lowest cosine to torch's vectors.

The other engines need packages the project does not install: `gguf` (to write the GGUF
file) and `onnxruntime` + `onnx`; a missing one is reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from index import flops_per_token, matmul_gflops  # noqa: E402
from rag.index.embedding import SentenceTransformerEmbedder, bundled_model_path  # noqa: E402
from rag.index.encoder import NumpyEncoder  # noqa: E402
from rag.ingest.articles import load_articles  # noqa: E402
from rag.ingest.chunking import chunk_article  # noqa: E402


def sample_texts(data: Path, articles: int, count) -> list[str]:
    files = sorted(data.glob("*/*.txt"))
    random.Random(0).shuffle(files)
    texts = []
    for a in load_articles(files[:articles]).articles:
        for c in chunk_article(a, count):
            texts.append(c.text)
            texts.extend(a.text[s:e] for s, e in c.sentences)
    return list(dict.fromkeys(texts))


def write_gguf(path: Path, quant: str) -> None:
    """The bundled MiniLM as a llama.cpp BERT model (vocabulary in llama.cpp's WordPiece
    form: a word start carries U+2581, a '##' continuation loses its prefix)."""
    import gguf
    from safetensors.numpy import load_file

    src = bundled_model_path()
    cfg = json.loads((src / "config.json").read_text())
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, cfg["num_hidden_layers"])
    w = gguf.GGUFWriter(str(path), "bert")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_layer_norm_eps(cfg["layer_norm_eps"])
    w.add_causal_attention(False)
    w.add_pooling_type(gguf.PoolingType.MEAN)
    vocab = (src / "vocab.txt").read_text(encoding="utf-8").splitlines()
    special = {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]"}
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("default")
    w.add_token_list([t if t.startswith("[") and t.endswith("]") else
                      t[2:] if t.startswith("##") else "\u2581" + t for t in vocab])
    w.add_token_types([gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL
                       for t in vocab])
    w.add_token_type_count(cfg.get("type_vocab_size", 2))
    ids = {t: i for i, t in enumerate(vocab)}
    w.add_unk_token_id(ids["[UNK]"])
    w.add_bos_token_id(ids["[CLS]"])
    w.add_eos_token_id(ids["[SEP]"])
    w.add_sep_token_id(ids["[SEP]"])
    w.add_pad_token_id(ids["[PAD]"])
    w.add_mask_token_id(ids["[MASK]"])
    q8 = gguf.GGMLQuantizationType.Q8_0
    for name, arr in load_file(str(src / "model.safetensors")).items():
        if name.endswith("position_ids") or name.startswith("pooler"):
            continue
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        arr = arr.astype(np.float32)
        if quant == "q8_0" and arr.ndim == 2 and new.startswith("blk."):
            w.add_tensor(new, gguf.quants.quantize(arr, q8), raw_dtype=q8)
        else:
            w.add_tensor(new, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def llama_cpp_engine(path: Path, ids: list[list[int]], ubatch: int = 512):
    """Loads the GGUF; the returned function packs sequences into llama.cpp batches of up
    to ``ubatch`` tokens and mean-pools."""
    import llama_cpp

    llm = llama_cpp.Llama(str(path), embedding=True, n_ctx=ubatch, n_batch=ubatch,
                          n_ubatch=ubatch, n_threads=2, n_threads_batch=2, flash_attn=True,
                          verbose=False)
    return lambda: _llama_cpp_embed(llm, ids, ubatch)


def _llama_cpp_embed(llm, ids: list[list[int]], ubatch: int) -> np.ndarray:
    import llama_cpp

    out = np.zeros((len(ids), llm.n_embd()), np.float32)
    batch, pending, used = llm._batch, [], 0

    def flush():
        llm._ctx.decode(batch)
        for seq, i in enumerate(pending):
            ptr = llama_cpp.llama_get_embeddings_seq(llm._ctx.ctx, seq)
            out[i] = np.ctypeslib.as_array(ptr, shape=(out.shape[1],))
        batch.reset()
        pending.clear()

    for i in sorted(range(len(ids)), key=lambda i: len(ids[i])):
        if used + len(ids[i]) > ubatch or len(pending) >= llm.context_params.n_seq_max:
            flush()
            used = 0
        batch.add_sequence(ids[i], len(pending), True)
        pending.append(i)
        used += len(ids[i])
    if pending:
        flush()
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def onnx_engine(model, texts: list[str], workdir: Path, batch_size: int = 16):
    """Exports and fuses the model; the returned function embeds like sentence-transformers
    (length-sorted batches, mean pooling)."""
    import onnxruntime as ort
    import torch
    from onnxruntime.transformers import optimizer

    bert, tok = model[0].auto_model.eval(), model.tokenizer

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, ids, mask, types):
            return self.bert(input_ids=ids, attention_mask=mask,
                             token_type_ids=types).last_hidden_state

    enc = tok(["a short text", "a somewhat longer text to export"], padding=True,
              return_tensors="pt")
    raw, fused = workdir / "minilm.onnx", workdir / "minilm-fused.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(Hidden(), tuple(enc[n] for n in names), str(raw), input_names=names,
                      output_names=["hidden"], opset_version=17, dynamo=False,
                      dynamic_axes={n: {0: "batch", 1: "length"} for n in names + ["hidden"]})
    cfg = bert.config
    optimizer.optimize_model(str(raw), model_type="bert", num_heads=cfg.num_attention_heads,
                             hidden_size=cfg.hidden_size).save_model_to_file(str(fused))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(fused), options, providers=["CPUExecutionProvider"])
    dim = bert.config.hidden_size
    return lambda: _onnx_embed(session, tok, texts, names, batch_size, dim)


def _onnx_embed(session, tok, texts, names, batch_size, dim) -> np.ndarray:
    out = np.zeros((len(texts), dim), np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for k in range(0, len(order), batch_size):
        idx = order[k:k + batch_size]
        e = tok([texts[i] for i in idx], truncation=True, max_length=256, padding=True,
                return_tensors="np")
        h = session.run(None, {n: e[n].astype(np.int64) for n in names})[0]
        m = e["attention_mask"][..., None].astype(np.float32)
        v = (h * m).sum(1) / m.sum(1)
        out[idx] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "bbc")
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--squad", type=Path, default=None, metavar="FILE",
                        help="Embed the paragraphs ('docs') of this SQuAD evaluation file "
                             "instead of BBC chunks and sentences.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    if args.squad:
        texts = [d["text"] for d in json.loads(args.squad.read_text())["docs"]]
    else:
        texts = sample_texts(args.data, args.articles, embedder.count_tokens)
    model = embedder._model
    ids = [model.tokenizer(t, truncation=True, max_length=256)["input_ids"] for t in texts]
    tokens = sum(map(len, ids))
    bound = matmul_gflops() * 1e9 / flops_per_token(model, tokens / len(ids))
    report = {"texts": len(texts), "tokens": tokens, "fp32_bound_tokens_per_s": round(bound),
              "engines": {}}
    reference = None  # torch's vectors, the first engine's
    with tempfile.TemporaryDirectory() as tmp:
        engines = {"torch (project)": lambda: lambda: embedder.embed_batch(texts)}

        def light():
            encoder = NumpyEncoder(bundled_model_path())
            encoder.encode(texts[:1])  # weights and tokenizer loaded, not timed
            return lambda: encoder.encode(texts)
        engines["numpy (rag.index.encoder)"] = light
        for quant in ("f32", "q8_0"):
            def load(quant=quant):
                path = Path(tmp) / f"minilm-{quant}.gguf"
                write_gguf(path, quant)
                return llama_cpp_engine(path, ids)
            engines[f"llama.cpp {quant}"] = load
        engines["onnxruntime"] = lambda: onnx_engine(model, texts, Path(tmp))
        for name, load in engines.items():
            try:
                embed = load()  # conversion and loading are not timed
            except ImportError as exc:
                report["engines"][name] = {"skipped": f"not installed: {exc.name}"}
                continue
            began = time.perf_counter()
            vectors = embed()
            seconds = time.perf_counter() - began
            if reference is None:
                reference = vectors
            report["engines"][name] = {
                "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds),
                "share_of_bound": round(tokens / seconds / bound, 3),
                "min_cosine_to_torch": round(float((vectors * reference).sum(1).min()), 5),
                "mean_cosine_to_torch": round(float((vectors * reference).sum(1).mean()), 6)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['texts']} texts, {tokens} tokens; "
          f"fp32 bound {report['fp32_bound_tokens_per_s']} tok/s")
    for name, r in report["engines"].items():
        print(f"  {name:18s} " + (r["skipped"] if "skipped" in r else
              f"{r['tokens_per_s']:6d} tok/s  {r['share_of_bound']:.0%} of bound  "
              f"({r['seconds']} s, cosine to torch min {r['min_cosine_to_torch']}, "
              f"mean {r['mean_cosine_to_torch']})"))


if __name__ == "__main__":
    main()
