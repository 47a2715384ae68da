"""Which hand-written answer rules still earn their lines beside the reader.

Usage:
  python bench/ablation.py --data bench/questions/reader_a.json \
      --data ../shared/data/squad_dev.json --articles 13-24 --limit 150 [--json]

Answers every question of each file once per variant and counts right + cited answers,
answers right, and unanswerable questions refused (``rag eval answers``' rules). The
variants put a rule family back in front of the reader, as it answered before the reader:

- ``reader``: the reader answers who / when / where / how many / why / other questions;
- ``typed-rules``: who / when / where / how-many questions by the parse rules (``shapes.typed``
  with the evidence gate);
- ``why-coverage``: why-questions by the best article's sentences (``shapes.coverage``);
- ``gate``: the evidence gate (``grounding.Gate``) refuses before the reader reads.

A rule family stays only when the reader without it loses at least 2 right + cited answers
on the set that decides (new set A) and nothing on squad_dev.json's articles 13-24.
A variant whose code is gone is reported as such.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rag.answer.answerer as answering  # noqa: E402
from rag import Assistant, Settings  # noqa: E402
from rag.evaluation import eval_answers, load_eval_file, prepare_index  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from reader_threshold import _questions  # noqa: E402

READ = answering.READ


#: Variants whose code is gone, and where: they are reported, not run.
GONE = {"typed-rules": "shapes.typed with doers.py, entities.py and instances.py went after "
                       "this ablation (right + cited, rules in front of the reader: set A 22 "
                       "against 29, squad_dev 13-24 (150) 63 against 64)",
        "why-coverage": "why-questions by coverage went after this ablation (set A 30 against "
                        "29, squad_dev 13-24 (150) 64 against 64: less than 2 on set A)"}


def _variant(name: str):
    """Set the pipeline up as the variant answers; returns a function undoing it."""
    original_read, original_cls = answering.READ, answering.Answerer._read
    if name == "gate":
        from rag.answer.citations import Gate

        def gated(self, question, asked, person, grounds, refuse, finish):
            if not Gate.from_settings(self.settings).answerable(grounds.evidence, question):
                yield from refuse()
                return
            yield from original_cls(self, question, asked, person, grounds, refuse, finish)

        answering.Answerer._read = gated

    def undo():
        answering.READ = original_read
        answering.Answerer._read = original_cls
    return undo


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, action="append", required=True)
    p.add_argument("--articles", default=None, help="for files with inline docs, e.g. 13-24")
    p.add_argument("--limit", type=int, default=None, help="questions per file (seeded)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--variants", default="reader,typed-rules,why-coverage,gate")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    results: dict = {}
    base = Assistant(Settings.from_env())
    for path in args.data:
        data = load_eval_file(path)
        settings = prepare_index(data, path, base.settings, base.embedder)
        bot = Assistant(settings, embedder=base.embedder)
        questions = _questions(data, args.articles, args.limit, args.seed)
        for name in args.variants.split(","):
            if name in GONE:
                print(path, name, "gone:", GONE[name], flush=True)
                continue
            undo = _variant(name)
            try:
                r = eval_answers(lambda q, h, bot=bot: bot.ask(q, history=h), questions)
            finally:
                undo()
            answerable = sum(1 for q in questions if not q.get("is_impossible"))
            results.setdefault(str(path), {})[name] = {
                "right_cited": round(r["right_with_citation"] * answerable),
                "right": round(r["answer_accuracy"] * answerable),
                "refusal_accuracy": r["refusal_accuracy"],
                "answerable": answerable, "questions": r["questions"]}
            print(path, name, json.dumps(results[str(path)][name]), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
