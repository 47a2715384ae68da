"""Deterministic stand-ins for the embedder and the LLM, through their real interfaces."""

from __future__ import annotations

import hashlib
import re

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder:
    """Bag-of-words hashed into 64 dimensions: similar words, similar vectors."""

    model_id = "fake-bow-64"
    dimension = 64

    def __init__(self):
        self.embedded = 0

    def count_tokens(self, texts):
        return [len(_TOKEN.findall(t)) for t in texts]

    def embed_batch(self, texts):
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                out[row, h % self.dimension] += 1.0
        out += 1e-6
        self.embedded += len(texts)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class ScriptedGenerator:
    """Replies with scripted drafts, in order; records the prompts it was given."""

    name = "scripted"

    def __init__(self, *replies):
        self.replies = list(replies)
        self.prompts = []

    def count_tokens(self, text):
        return len(text.split())

    def prepare(self):
        return None

    def stream(self, prompt, max_tokens, stop):
        self.prompts.append(prompt)
        reply = self.replies.pop(0) if self.replies else ""
        yield from (w + " " for w in reply.split(" "))
