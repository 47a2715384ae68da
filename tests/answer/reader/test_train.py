"""The training command (rag.answer.reader.train) on a few steps over generated examples."""

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
