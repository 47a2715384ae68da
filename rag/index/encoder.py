"""The light embedding engine: the bundled all-MiniLM-L6-v2 run in NumPy, for the query
path and small index updates, without torch, transformers or sentence-transformers.

Importing torch and sentence-transformers takes 6-9 s on the development machine, far more
than embedding one question. This engine reads the same weights (``model.safetensors``,
through ``safetensors.numpy``) and the same tokenizer (``tokenizer.json``, through the
``tokenizers`` package), and computes the same thing in float32: BERT's six layers, mean
pooling over the real tokens, L2 normalisation. Bulk indexing stays on torch, which is
faster per token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

#: Abramowitz & Stegun 7.1.26: erf to within 1.5e-7, for BERT's exact (erf) GELU.
_P, _A = 0.3275911, (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + _P * x)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


class NumpyEncoder:
    """A BERT sentence encoder (mean pooling, normalised) from a sentence-transformers
    directory holding ``config.json``, ``model.safetensors`` and ``tokenizer.json``."""

    def __init__(self, path: Path, max_tokens: int | None = None):
        self.path = Path(path)
        config = json.loads((self.path / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{path}: only BERT's erf GELU is implemented here")
        st = self.path / "sentence_bert_config.json"
        length = json.loads(st.read_text()).get("max_seq_length") if st.exists() else None
        self.max_length = int(max_tokens or length or config["max_position_embeddings"])
        self._lock = threading.Lock()

    @cached_property
    def tokenizer(self):
        """The model's tokenizer, cutting at the model's window as sentence-transformers
        does."""
        tok = self.counter.__class__.from_str(self.counter.to_str())
        tok.enable_truncation(self.max_length)
        return tok

    @cached_property
    def counter(self):
        """The same tokenizer without a length limit (to count a text's tokens)."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        return tok

    @cached_property
    def weights(self) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        raw = load_file(str(self.path / "model.safetensors"))
        # Checkpoints name the same tensors with or without a "bert." prefix.
        return {k.removeprefix("bert."): v.astype(np.float32) for k, v in raw.items()}

    def tokens(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as the model reads them: [CLS], the text's pieces cut to fit the
        window, [SEP]."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def count(self, texts: Sequence[str]) -> list[int]:
        """Word pieces in each whole text, special tokens left out."""
        return [len(e.ids) for e in self.counter.encode_batch(list(texts),
                                                              add_special_tokens=False)]

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        ids = self.tokens(texts)
        for rows in _batches(ids, batch_size):
            x, mask = self._forward([ids[i] for i in rows])
            pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.maximum(norms, 1e-12)
        return out

    def token_states(self, texts: Sequence[str], batch_size: int = 16
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's last-layer token states (special tokens included, one row per
        token) and the character offsets of its tokens ((0, 0) for special tokens)."""
        encoded = self.tokenizer.encode_batch(list(texts))
        ids = [e.ids for e in encoded]
        out: list = [None] * len(texts)
        for rows in _batches(ids, batch_size):
            x, _ = self._forward([ids[i] for i in rows])
            for j, i in enumerate(rows):
                out[i] = (x[j, :len(ids[i])], np.asarray(encoded[i].offsets, dtype=np.int64))
        return out

    def _forward(self, batch: list[list[int]], types: list[list[int]] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """The last layer's states of a padded batch, and its mask of real tokens.
        ``types`` gives each token's segment (0 for all when left out; a question-passage
        pair is 0 then 1)."""
        w = self.weights
        n, length = len(batch), max(len(b) for b in batch)
        ids = np.zeros((n, length), dtype=np.int64)
        segment = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1.0
            if types is not None:
                segment[i, :len(row)] = types[i]
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][segment])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        self.eps)
        heads, size = self.heads, self.hidden // self.heads
        blocked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding is not read
        scale = np.float32(1.0 / np.sqrt(size))
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def dense(v: np.ndarray, name: str, p=p) -> np.ndarray:
                return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def split(v: np.ndarray) -> np.ndarray:
                return v.reshape(n, length, heads, size).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, self.hidden)
            x = _layer_norm(dense(context, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self.eps)
            inner = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(dense(inner, "output.dense") + x,
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                            self.eps)
        return x.astype(np.float32, copy=False), mask


def _batches(ids: list[list[int]], size: int):
    """Row indices in batches of similar length (longest first), so each pads little."""
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    for start in range(0, len(order), size):
        yield order[start:start + size]
