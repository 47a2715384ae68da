"""The trained reader, run in NumPy: no torch at question time.

The shipped file ``model/reader.safetensors`` holds every weight of the reader but the word
embeddings (float16), which are the bundled embedder's own (frozen in training) and are read
from it. The encoder is ``rag.index.encoder``'s BERT forward pass; the head maps each token's state
to a start and an end logit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.answer.reader import features
from rag.index import NumpyEncoder

MODEL_DIR = Path(__file__).resolve().parent / "model"
WEIGHTS = "reader.safetensors"
META = "reader.json"


def load_tokenizer(base: Path):
    """The embedder's word-piece tokenizer, without truncation or padding."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(base) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def export(state: dict, out: Path, meta: dict, frozen: str) -> Path:
    """Write a trained state dict (torch tensors) as the shipped reader: float16, without
    the frozen word embeddings, with its metadata and model card."""
    from safetensors.numpy import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().float().numpy().astype(np.float16)
               for k, v in state.items() if k != frozen and "position_ids" not in k}
    path = out / WEIGHTS
    save_file(tensors, str(path))
    meta = {**meta, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (out / META).write_text(json.dumps(meta, indent=2) + "\n")
    (out / "MODEL_CARD.md").write_text(model_card(meta))
    return path


def model_card(meta: dict) -> str:
    def refused(c: dict, key: str) -> str:
        return f"{c[key]:.3f}" if key in c else "-"

    curve = "\n".join(f"| {c['examples']:,} | {c['f1']:.3f} | {c['em']:.3f} | "
                      f"{refused(c, 'refused_unanswerable')} | {refused(c, 'refused_answerable')} "
                      f"| {refused(c, 'unanswerable_refused_at_10')} | {refused(c, 'squad2_f1')} |"
                      for c in meta.get("curve", []))
    earlier = meta.get("earlier")
    history = ""
    if earlier:
        skip = meta.get("skip", 0)
        read = (f"its first {skip:,} questions of the seeded order); this run reads the "
                "questions after them" if skip else "); this run reads every question of its "
                "data, the earlier run's among them")
        history = (f"- Continued from an earlier run of the same command "
                   f"({earlier['examples']:,} examples, {earlier['unanswerable']:,} unanswerable, "
                   f"peak learning rate {earlier['lr']}{', ' if skip else ''}{read}.\n")
    kinds = []
    if meta.get("squad2_unanswerable"):
        kinds.append(f"{meta['squad2_unanswerable']:,} SQuAD 2.0 train questions written to look "
                     "answerable from their paragraph, read against it")
    if meta.get("negatives", 0.35):
        kinds.append("made ones: the question with another paragraph of its article, or "
                     "with the sentences next to its answer's")
    if meta.get("swaps"):
        kinds.append("near-misses: the question with one of its names or numbers swapped "
                     "for one its context does not hold")
    licence = "Rajpurkar et al., 2016" + (", 2018" if meta.get("squad2_unanswerable") else "")
    return f"""# rag-news reader

An extractive question-answering reader: all-MiniLM-L6-v2's six BERT layers with a start/end
head, reading `[CLS] question [SEP] passage [SEP]`; `[CLS]` is the "no answer" position (its
start + end score against the best span's gives the answerability margin).

- Base: {meta['base']} (Apache-2.0). The word embeddings are the base's, frozen in training
  and not stored here; everything else is in `{WEIGHTS}` (float16).
- Data: {meta['data']}; CC BY-SA 4.0 ({licence}). {meta['examples']:,} inputs,
  {meta['unanswerable']:,} of them unanswerable ({'; '.join(kinds)}).
{history}- Training: `python -m rag.answer.reader.train` with AdamW, peak learning rate
  {meta['lr']}, warm-up {meta['warmup']:.0%} then linear decay to zero, about
  {meta['tokens_per_batch']} padded word pieces a batch, at most {meta['max_length']} word
  pieces an input, seed {meta['seed']}, {meta['precision']}, {meta['threads']} CPU thread(s).
- Not trained, tuned or thresholded on SQuAD dev; validated on the questions of the first 12
  articles of `squad_dev.json` (given their paragraph, best span forced; refused: the best
  margin below 0; "at 10%": at the threshold that refuses 10% of the answerable ones, with
  the SQuAD 2.0 F1 there):

| examples | F1 | EM | unanswerable refused | answerable refused | unans. at 10% | SQuAD 2.0 F1 |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{curve}

- sha256 of `{WEIGHTS}`: `{meta['sha256']}`
- Licence: the weights derive from SQuAD (CC BY-SA 4.0) and all-MiniLM-L6-v2 (Apache-2.0).
"""


@dataclass(frozen=True)
class Reading:
    """The reader's best span in one context: its characters, its score and its margin
    over "no answer" (the higher, the surer the context answers the question)."""

    context: int  # which of the contexts read
    start: int
    end: int
    score: float
    margin: float


class Reader(NumpyEncoder):
    """The shipped reader on the bundled embedder's word embeddings and tokenizer."""

    def __init__(self, base: Path | None = None, model_dir: Path = MODEL_DIR):
        if base is None:
            from rag.index import bundled_model_path

            base = bundled_model_path()
        super().__init__(base, max_tokens=features.MAX_LENGTH)
        self.model_dir = Path(model_dir)
        self._read_lock = threading.Lock()

    @cached_property
    def counter(self):
        return load_tokenizer(self.path)

    @cached_property
    def weights(self) -> dict[str, np.ndarray]:
        from safetensors.numpy import load_file

        shipped = load_file(str(self.model_dir / WEIGHTS))
        base = load_file(str(self.path / "model.safetensors"))
        word = next(v for k, v in base.items() if k.endswith("embeddings.word_embeddings.weight"))
        out = {k.removeprefix("bert."): v.astype(np.float32) for k, v in shipped.items()}
        out["embeddings.word_embeddings.weight"] = word.astype(np.float32)
        return out

    def load(self) -> Reader:
        """Read the weights now (else the first question does)."""
        _ = self.weights, self.counter
        return self

    def logits(self, wins: Sequence[features.Window], batch_size: int = 8
               ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Start and end logits of each window."""
        w = self.weights
        head, bias = w["qa_outputs.weight"], w["qa_outputs.bias"]
        out: list = [None] * len(wins)
        order = sorted(range(len(wins)), key=lambda i: -len(wins[i]))
        for at in range(0, len(order), batch_size):
            rows = order[at:at + batch_size]
            x, _ = self._forward([wins[i].ids for i in rows], [wins[i].types for i in rows])
            both = x @ head.T + bias
            for j, i in enumerate(rows):
                n = len(wins[i])
                out[i] = (both[j, :n, 0], both[j, :n, 1])
        return out

    def read(self, question: str, contexts: Sequence[str], top: int = 1) -> list[Reading]:
        """The ``top`` best spans of each context (for ``top=1``, one per context, in
        order; else all of them, best of each context first)."""
        wins, owner = [], []
        tok = self.counter
        q = tok.encode(question, add_special_tokens=False).ids[:features.MAX_QUESTION]
        for i, c in enumerate(contexts):
            enc = tok.encode(c, add_special_tokens=False)
            for w in features.windows(tok, q, enc.ids, enc.offsets, features.MAX_LENGTH):
                wins.append(w)
                owner.append(i)
        with self._read_lock:
            logits = self.logits(wins)
        found: dict[int, list[Reading]] = {}
        for w, i, (s, e) in zip(wins, owner, logits, strict=True):
            for span in features.best_spans(w, s, e, top):
                found.setdefault(i, []).append(
                    Reading(i, span.start, span.end, span.score, span.margin))
        out = []
        for i in range(len(contexts)):
            ranked = sorted(found.get(i, []), key=lambda r: -r.score)[:top]
            out.extend(ranked)
        return out
