"""Can the LLM's own confidence tell answerable from unanswerable questions?

Usage: python bench/confidence.py [--data ../shared/data/squad_dev.json] [--limit 230] [--seed 1]

For each sampled question that passes the answerability gate, the default model answers
greedily from the same prompt the pipeline builds, and its log probabilities are kept:
first token, mean over the answer, the first token's margin over the runner-up. Prints
the ROC AUC of each, and of the gate's own features, for answerable vs unanswerable and
for right vs wrong answers (0.5 = no signal). Slow: about 2.5 s a question.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag import Assistant, Settings  # noqa: E402
from rag.answer.citations import Gate  # noqa: E402
from rag.evaluation import _contains, load_eval_file, prepare_index, sample  # noqa: E402


def greedy(llm, prompt: str, n: int = 16) -> tuple[str, list[float], float]:
    """Greedy answer, the log probability of each token, and the first token's margin."""
    tokens = llm.tokenize(prompt.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(tokens)
    out, lps, margin = [], [], None
    for _ in range(n):
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm._n_vocab,))
        logits = logits.astype(np.float64)
        lp = logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))
        token = int(lp.argmax())
        if margin is None:
            top2 = np.partition(lp, -2)[-2:]
            margin = float(top2[1] - top2[0])
        piece = llm.detokenize([token]).decode("utf-8", "ignore")
        if token == llm.token_eos() or "\n" in piece:
            break
        out.append(piece)
        lps.append(float(lp[token]))
        llm.eval([token])
    return "".join(out), lps, margin or 0.0


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    p, q = np.array(pos)[:, None], np.array(neg)[None, :]
    return float((p > q).mean() + 0.5 * (p == q).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/squad_dev.json"))
    parser.add_argument("--limit", type=int, default=230)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data = load_eval_file(args.data)
    base = Assistant(Settings.from_env())
    settings = prepare_index(data, Path(args.data), base.settings, base.embedder)
    bot = Assistant(settings, embedder=base.embedder)
    llm = bot.generator.llm
    rows = []
    for q in sample(data["questions"], args.limit, args.seed):
        answerer = bot.answerer()
        grounds = answerer.ground(q["question"], [], None)  # exactly what the pipeline uses
        evidence = grounds.evidence
        if not Gate().answerable(evidence, q["question"]):
            continue
        prompt = answerer.prompt(grounds)
        _, lps, margin = greedy(llm, prompt)
        answer = bot.ask(q["question"])
        impossible = bool(q.get("is_impossible"))
        rows.append({
            "impossible": impossible,
            "right": not impossible and _contains(answer.text, q.get("answers") or [], False),
            "first token log p": lps[0] if lps else -30.0,
            "mean log p": float(np.mean(lps)) if lps else -30.0,
            "first token margin": margin,
            "gate score": evidence[0].score, "gate overlap": evidence[0].overlap,
            "cosine": evidence[0].dense})
        print(f"\r{len(rows)} questions past the gate", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    answerable = [r for r in rows if not r["impossible"]]
    impossible = [r for r in rows if r["impossible"]]
    print(f"{len(rows)} questions passed the gate: {len(answerable)} answerable, "
          f"{len(impossible)} unanswerable; ROC AUC (0.5 = no signal):")
    print(f"{'feature':>20}  answerable>unanswerable  right>wrong answer")
    for key in [k for k in rows[0] if k not in ("impossible", "right")]:
        a = auc([r[key] for r in answerable], [r[key] for r in impossible])
        b = auc([r[key] for r in answerable if r["right"]],
                [r[key] for r in answerable if not r["right"]])
        print(f"{key:>20}  {a:23.3f}  {b:18.3f}")


if __name__ == "__main__":
    main()
