"""The light (NumPy) engine of the bundled embedder: the same tokens and vectors as
sentence-transformers, and a query path that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SEED, write, write_news

from rag.index.embedding import BundledEmbedder, SentenceTransformerEmbedder, bundled_model_path
from rag.index.encoder import NumpyEncoder

pytestmark = pytest.mark.slow

ODD = ["", "a", "Zelenskyy said Russia used a North Korean ballistic missile.",
       "naïve café — “quotes” 12,000 € in Köln; 北京 and Ελλάδα; emoji 🙂 ﬁ ligature",
       "UPPER case AND MiXeD, e-mail x@y.org, URL https://bbc.co.uk/news?id=1&b=2",
       "tab\tand\nnew line  double  spaces", "word " * 400]


@pytest.fixture(scope="module")
def texts():
    seed = SEED.read_text(encoding="utf-8")
    return ODD + [s.strip() for s in seed.split(". ") if s.strip()] + [seed[:3000]]


@pytest.fixture(scope="module")
def torch_engine():
    return SentenceTransformerEmbedder()


def test_it_tokenises_exactly_as_the_bundled_tokenizer(texts, torch_engine):
    light = NumpyEncoder(bundled_model_path())
    hf = torch_engine._model.tokenizer(texts, truncation=True, max_length=256)["input_ids"]
    assert light.tokens(texts) == hf
    plain = torch_engine._model.tokenizer(texts, add_special_tokens=False)["input_ids"]
    assert BundledEmbedder().count_tokens(texts) == [len(ids) for ids in plain]


def test_its_vectors_agree_with_sentence_transformers(texts, torch_engine):
    here = BundledEmbedder().embed_batch(texts)
    there = torch_engine.embed_batch(texts)
    cosines = (here * there).sum(1)
    assert here.dtype == np.float32 and here.shape == there.shape
    assert cosines.min() >= 0.9999, cosines.min()
    assert np.allclose(np.linalg.norm(here, axis=1), 1.0, atol=1e-5)


def test_both_engines_pool_the_same_sentence_vectors_from_one_pass(torch_engine):
    from rag.index.embedding import embed_chunks
    from rag.ingest.chunking import sentence_spans

    seed = SEED.read_text(encoding="utf-8")
    texts = [seed[:1200], "  " + seed[1200:2000], ODD[3], ODD[-1]]
    spans = [[(a, b) for a, b in sentence_spans(t)] for t in texts]
    assert sum(map(len, spans)) > 10
    light = BundledEmbedder()
    here, here_sentences = embed_chunks(light, texts, spans)
    there, there_sentences = embed_chunks(torch_engine, texts, spans)
    # The chunk's vector is the one the model gives the chunk on its own.
    assert (here * light.embed_batch(texts)).sum(1).min() >= 0.9999
    assert (here * there).sum(1).min() >= 0.9999
    for a, b, ss in zip(here_sentences, there_sentences, spans, strict=True):
        assert a.shape == b.shape == (len(ss), 384)
        assert (a * b).sum(1).min() >= 0.9999
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # Pooled from the chunk's states, not embedded alone (which the context changes) ...
    first = [texts[0][a:b] for a, b in spans[0]]
    alone = light.embed_batch(first)
    assert (here_sentences[0] * alone).sum(1).max() < 0.99
    # ... except a sentence the pass never read (past the model's 256-token window).
    long = ("One sentence here. " * 150).strip()
    _, (rows,) = embed_chunks(light, [long], [sentence_spans(long)])
    last = sentence_spans(long)[-1]
    assert np.allclose(rows[-1], light.embed_batch([long[slice(*last)]])[0], atol=1e-5)


def _run(code: str, tmp) -> dict:
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp, capture_output=True,
                          text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp),
                               "RAG_CACHE_DIR": str(tmp / "cache"),
                               "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


HEAVY = "sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)"


def test_a_question_and_a_small_update_never_import_torch(tmp_path):
    write(tmp_path / "seeds" / SEED.name, SEED.read_bytes())
    write_news(tmp_path / "more", 7, 3)
    found = _run(f"""
import json, sys
from rag import Assistant, Settings
bot = Assistant(Settings(index_dir="index"))
report = bot.index(["seeds", "more"])
answer = bot.ask("Who is Trump's envoy due in Russia on Friday?")
print(json.dumps({{"added": report.added, "answer": answer.text, "heavy": {HEAVY}}}))
""", tmp_path)
    assert found["added"] == 4 and "Witkoff" in found["answer"]
    assert found["heavy"] == []


def test_a_big_update_goes_to_torch(tmp_path):
    write_news(tmp_path / "news", 3, 4)
    found = _run(f"""
import json, sys
from rag import Assistant, Settings
bot = Assistant(Settings(index_dir="index", light_max_tokens=500))
report = bot.index(["news"])
print(json.dumps({{"added": report.added, "heavy": {HEAVY}}}))
""", tmp_path)
    assert found["added"] == 4 and "torch" in found["heavy"]
