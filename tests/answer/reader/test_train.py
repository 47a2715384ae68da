"""The training command (rag.answer.reader.train) on a few steps over generated examples."""

import gzip
import hashlib
import json
import random
from pathlib import Path

import pytest

from rag.answer.reader.model import WEIGHTS, Reader

ROOT = Path(__file__).resolve().parents[3]
PAIRS = json.loads((ROOT / "tests" / "data" / "reader_pairs.json").read_text())["pairs"]


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
def test_training_continues_from_a_shipped_reader_with_near_misses(tmp_path, capsys):
    from rag.answer.reader import train

    squad = _tiny_squad(tmp_path / "tiny.json")
    common = ["--squad", str(squad), "--examples", "12", "--tokens", "256", "--eval-at", "",
              "--cache", str(tmp_path / "cache")]
    assert train.main(common + ["--out", str(tmp_path / "first")]) == 0
    assert train.main(common + ["--out", str(tmp_path / "second"), "--seed", "5",
                                "--init", str(tmp_path / "first"), "--skip", "4",
                                "--swaps", "0.5"]) == 0
    assert f"initialised from {tmp_path / 'first'}" in capsys.readouterr().out
    meta = json.loads((tmp_path / "second" / "reader.json").read_text())
    assert meta["skip"] == 4 and meta["swaps"] == 0.5 and meta["earlier"]["examples"] == 12
    assert "Continued from an earlier run" in (tmp_path / "second" / "MODEL_CARD.md").read_text()


def _tiny_unanswerable(path: Path, squad: Path) -> str:
    """SQuAD 2.0-style unanswerable questions on the tiny file's paragraphs; the sha256 of
    their lines."""
    data = json.loads(squad.read_text())["data"]
    lines = "".join(json.dumps({"id": f"u{a}{p}", "question": "Who opened the festival?",
                                "title": data[a]["title"], "article": a, "paragraph": p,
                                "assignment": "exact"}) + "\n"
                    for a in range(len(data)) for p in range(2)).encode()
    path.write_bytes(gzip.compress(lines))
    return hashlib.sha256(lines).hexdigest()


@pytest.mark.slow
def test_training_reads_squad2_unanswerable_questions_and_names_them(tmp_path, capsys):
    from rag.answer.reader import train

    squad = _tiny_squad(tmp_path / "tiny.json")
    digest = _tiny_unanswerable(tmp_path / "un.jsonl.gz", squad)
    assert train.main(["--squad", str(squad), "--examples", "18", "--tokens", "256",
                       "--eval-at", "", "--negatives", "0", "--cache", str(tmp_path / "c"),
                       "--out", str(tmp_path / "out"), "--unanswerable",
                       str(tmp_path / "un.jsonl.gz"), "--unanswerable-sha256", digest]) == 0
    out = capsys.readouterr().out
    assert "unanswerable: " in out and "(6 questions)" in out
    meta = json.loads((tmp_path / "out" / "reader.json").read_text())
    assert meta["squad2_unanswerable"] == 6 and meta["unanswerable"] >= 6
    assert digest in meta["data"]
    card = (tmp_path / "out" / "MODEL_CARD.md").read_text()
    assert digest in card and "SQuAD 2.0 train questions" in card and "2018" in card


def test_the_unanswerable_file_is_checked_and_joined_to_its_paragraphs(tmp_path):
    from rag.answer.reader import data

    squad = _tiny_squad(tmp_path / "tiny.json")
    digest = _tiny_unanswerable(tmp_path / "un.jsonl.gz", squad)
    rows = data.unanswerable_questions(tmp_path / "un.jsonl.gz", squad, digest)
    paragraphs = json.loads(squad.read_text())["data"][2]["paragraphs"]
    assert len(rows) == 6 and all(r["answer"] is None for r in rows)
    assert rows[5]["paragraphs"][rows[5]["paragraph"]] == paragraphs[1]["context"]
    with pytest.raises(ValueError, match="sha256"):
        data.unanswerable_questions(tmp_path / "un.jsonl.gz", squad, "0" * 64)
    wrong = json.loads(squad.read_text())
    wrong["data"][0]["title"] = "Another"
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    with pytest.raises(ValueError, match="line 1"):
        data.unanswerable_questions(tmp_path / "un.jsonl.gz", tmp_path / "wrong.json", digest)


def test_an_unanswerable_example_targets_cls_in_every_window_of_its_context():
    from rag.answer.reader import data, features
    from rag.answer.reader.model import load_tokenizer
    from rag.index import bundled_model_path

    tok = load_tokenizer(bundled_model_path())
    long = " ".join(f"Sentence {i} says the festival had {i} stalls." for i in range(120))
    [ex] = data.examples([{"question": "Who opened it?", "paragraphs": [long], "paragraph": 0,
                           "answer": None, "answer_start": None}], random.Random(0),
                         window_share=0.0)
    assert ex.answer is None and ex.context == long
    feats = data.featurise(tok, [ex], random.Random(0))
    assert len(feats) == len(features.encode(tok, ex.question, long)) > 1
    assert all(f.start == f.end == 0 for f in feats)


@pytest.mark.slow
def test_a_resume_with_other_settings_stops_and_keeps_the_checkpoint(tmp_path, capsys):
    from rag.answer.reader import train

    squad = _tiny_squad(tmp_path / "tiny.json")
    args = ["--squad", str(squad), "--examples", "16", "--tokens", "256", "--eval-at", "",
            "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out"),
            "--checkpoint-every", "1", "--unanswerable", "none"]
    assert train.main(args + ["--stop-after", "6"]) == 0
    ckpt = tmp_path / "cache" / "checkpoint-13.pt"
    before = ckpt.read_bytes()
    capsys.readouterr()
    assert train.main(args + ["--lr", "3e-4"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "lr 0.00015 there, 0.0003 here" in err
    assert ckpt.read_bytes() == before and not (tmp_path / "out" / WEIGHTS).exists()
