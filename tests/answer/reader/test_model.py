"""The shipped reader read in NumPy (rag.answer.reader.model): the same as torch on the
shipped weights, answering a plain question, and carried by the wheel."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader import features
from rag.answer.reader.model import MODEL_DIR, WEIGHTS, Reader
from rag.index import bundled_model_path

ROOT = Path(__file__).resolve().parents[3]
PAIRS = json.loads((ROOT / "tests" / "data" / "reader_pairs.json").read_text())["pairs"]


@pytest.mark.slow
def test_numpy_reads_the_shipped_weights_as_torch_does():
    """Same best span on 200 committed SQuAD train pairs, logits within 1e-3."""
    import torch
    from safetensors.numpy import load_file
    from transformers import BertConfig, BertForQuestionAnswering

    reader = Reader()
    base = bundled_model_path()
    net = BertForQuestionAnswering(BertConfig.from_pretrained(str(base))).eval()
    state = {k: torch.from_numpy(v.astype(np.float32))
             for k, v in load_file(str(MODEL_DIR / WEIGHTS)).items()}
    state["bert.embeddings.word_embeddings.weight"] = torch.from_numpy(
        reader.weights["embeddings.word_embeddings.weight"])
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and all("position_ids" in k for k in missing)
    wins = [features.encode(reader.counter, p["question"], p["context"])[0] for p in PAIRS]
    mine = reader.logits(wins)
    worst = 0.0
    with torch.no_grad():
        for w, (s, e) in zip(wins, mine, strict=True):
            ids = torch.tensor([w.ids])
            out = net(input_ids=ids, token_type_ids=torch.tensor([w.types]),
                      attention_mask=torch.ones_like(ids))
            ts, te = out.start_logits[0].numpy(), out.end_logits[0].numpy()
            worst = max(worst, float(np.abs(ts - s).max()), float(np.abs(te - e).max()))
            a, b = features.best_span(w, s, e), features.best_span(w, ts, te)
            assert (a.start, a.end) == (b.start, b.end)
    assert worst < 1e-3


@pytest.mark.slow
def test_the_shipped_reader_answers_a_plain_question():
    reader = Reader()
    context = ("Russian strikes on Kiev on Thursday left at least 12 people dead. The "
               "Kremlin said it only targets military goals.")
    [best] = reader.read("How many people died in Kiev?", [context])
    assert "12" in context[best.start:best.end] and best.margin > 0
    [none] = reader.read("Who won the 1998 World Cup?", [context])
    assert none.margin < best.margin


@pytest.mark.slow
def test_an_installed_wheel_carries_the_reader(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True)
    [wheel] = tmp_path.glob("rag_news-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"rag/answer/reader/model/{WEIGHTS}" in names
    assert "rag/answer/reader/model/MODEL_CARD.md" in names
    size = zipfile.ZipFile(wheel).getinfo(f"rag/answer/reader/model/{WEIGHTS}").file_size
    assert size <= 50_000_000
