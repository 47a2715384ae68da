"""The trained reader: how it sees a question and a passage, the shipped weights read in
NumPy against torch, the training command on a few steps, and the wheel carrying it."""

import json
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rag.answer.reader import features
from rag.answer.reader.model import MODEL_DIR, WEIGHTS, Reader, load_tokenizer
from rag.index.embedding import bundled_model_path

ROOT = Path(__file__).resolve().parents[2]
PAIRS = json.loads((ROOT / "tests" / "data" / "reader_pairs.json").read_text())["pairs"]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(bundled_model_path())


def test_a_long_context_is_read_in_overlapping_windows_that_keep_every_offset(tokenizer):
    context = " ".join(f"Sentence {i} says the port of Rotterdam handled {i} ships." for i in
                       range(120))
    wins = features.encode(tokenizer, "How many ships did the port handle?", context)
    assert len(wins) > 1 and all(len(w) <= features.MAX_LENGTH for w in wins)
    for w in wins:
        assert w.ids[0] == tokenizer.token_to_id("[CLS]") and w.types[0] == 0
        assert set(w.types[w.context_start:]) == {1}
        for i in range(w.context_start, len(w) - 1):
            s, e = w.offsets[i]
            assert tokenizer.decode([w.ids[i]]).replace("##", "") == context[s:e].lower()
    # consecutive windows overlap, and together they reach the end of the context
    assert wins[1].offsets[wins[1].context_start][0] < wins[0].offsets[-2][1]
    assert wins[-1].offsets[-2][1] == len(context)


def test_an_answer_maps_to_its_tokens_only_in_a_window_that_holds_it(tokenizer):
    context = "The strike began on Monday. Dock workers in Rotterdam want more pay."
    [w] = features.encode(tokenizer, "Where?", context)
    at = context.index("Rotterdam")
    s, e = features.token_span(w, at, at + len("Rotterdam"))
    assert context[w.offsets[s][0]:w.offsets[e][1]] == "Rotterdam"
    short = features.windows(tokenizer, [], tokenizer.encode(context[:20],
                             add_special_tokens=False).ids,
                             tokenizer.encode(context[:20], add_special_tokens=False).offsets,
                             64)[0]
    assert features.token_span(short, at, at + 9) is None


@pytest.mark.parametrize("top", [1, 3])
def test_the_best_spans_are_ranked_and_no_longer_than_the_limit(tokenizer, top):
    context = "Alpha beta gamma delta epsilon zeta eta theta."
    [w] = features.encode(tokenizer, "Which?", context)
    n = len(w)
    start, end = np.zeros(n), np.zeros(n)
    start[w.context_start + 1], end[w.context_start + 2] = 5.0, 4.0  # "beta gamma"
    start[0] = end[0] = 1.0  # "no answer" scores 2
    spans = features.best_spans(w, start, end, top)
    assert len(spans) == top
    assert context[spans[0].start:spans[0].end] == "beta gamma"
    assert spans[0].score == 9.0 and spans[0].margin == 7.0
    assert all(a.score >= b.score for a, b in zip(spans, spans[1:], strict=False))
    # a long span is never chosen, however high its ends score
    start[:], end[:] = 0.0, 0.0
    start[w.context_start], end[len(w) - 2] = 9.0, 9.0
    assert features.best_span(w, start, end, max_span=2).end - \
        features.best_span(w, start, end, max_span=2).start < len(context)


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


def _tiny_squad(path: Path) -> Path:
    rng = random.Random(3)
    cities = ["Oslo", "Lima", "Perth", "Quito", "Riga", "Hanoi"]
    data = []
    for a in range(3):
        paragraphs = []
        for p in range(2):
            city, n = rng.choice(cities), rng.randint(2, 90)
            context = (f"The festival of article {a} was held in {city}. It drew {n} "
                       f"thousand visitors. Organisers plan to return next year.")
            paragraphs.append({"context": context, "qas": [
                {"id": f"{a}-{p}-w", "question": "Where was the festival held?",
                 "answers": [{"text": city, "answer_start": context.index(city)}]},
                {"id": f"{a}-{p}-n", "question": "How many visitors came?",
                 "answers": [{"text": f"{n} thousand",
                              "answer_start": context.index(f"{n} thousand")}]}]})
        data.append({"title": f"A{a}", "paragraphs": paragraphs})
    path.write_text(json.dumps({"data": data}))
    return path


@pytest.mark.slow
def test_training_runs_resumes_and_writes_a_reader_numpy_can_load(tmp_path, capsys):
    from rag.answer.reader import train

    squad = _tiny_squad(tmp_path / "tiny.json")
    args = ["--squad", str(squad), "--examples", "16", "--tokens", "256",
            "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out"),
            "--eval-at", "", "--checkpoint-every", "1"]
    assert train.main(args + ["--stop-after", "6"]) == 0
    first = capsys.readouterr().out
    assert "run the same command to resume" in first
    assert not (tmp_path / "out" / WEIGHTS).exists()
    assert train.main(args) == 0
    second = capsys.readouterr().out
    assert "resumed at batch" in second and "wrote" in second
    meta = json.loads((tmp_path / "out" / "reader.json").read_text())
    assert meta["examples"] == 16 and len(meta["sha256"]) == 64
    assert "CC BY-SA 4.0" in (tmp_path / "out" / "MODEL_CARD.md").read_text()
    reader = Reader(model_dir=tmp_path / "out")
    [r] = reader.read("Where was the festival held?", ["It was held in Oslo last May."])
    assert 0 <= r.start < r.end <= len("It was held in Oslo last May.")


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
