"""Measurements behind ``rag eval``: retrieval recall and MRR on any file of the shared
evaluation schema (see the README's "Evaluation" section)."""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

from rag.config import Settings
from rag.errors import RagError
from rag.index import Embedder, index_signature, sync
from rag.text import normalize_answer, span_scores  # noqa: F401 - part of this API


def load_eval_file(path: Path | str) -> dict:
    """Read and check an evaluation file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagError(f"No evaluation file at {path}.") from None
    except json.JSONDecodeError as exc:
        raise RagError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise RagError(f"{path} has no 'questions' list; see the schema in the README.")
    if not data.get("docs") and not data.get("articles"):
        raise RagError(f"{path} names neither 'docs' nor an 'articles' folder to index.")
    return data




def sample(questions: list[dict], limit: int | None, seed: int) -> list[dict]:
    """All questions, or a seeded sample of ``limit`` of them in file order."""
    if not limit or limit >= len(questions):
        return list(questions)
    picked = sorted(random.Random(seed).sample(range(len(questions)), limit))
    return [questions[i] for i in picked]


def prepare_index(data: dict, data_path: Path, settings: Settings, embedder: Embedder,
                  show_progress: bool = False, index_dir: Path | str | None = None) -> Settings:
    """Index what an evaluation file names, in a cache keyed by content (or in
    ``index_dir``); returns the settings that point at it. A second run with the same
    documents embeds nothing."""
    made = index_signature(settings, embedder)
    signature = json.dumps({"embedder": {"id": made.embedder_id, "dimension": made.dimension},
                            "chunker": made.chunker}, sort_keys=True)
    if data.get("docs"):
        payload = json.dumps(data["docs"], sort_keys=True, ensure_ascii=False)
        key = hashlib.blake2b((payload + signature).encode(), digest_size=10).hexdigest()
        root = settings.cache_dir / "eval" / key
        folder = root / "docs"
        if not (root / "docs.done").exists():
            folder.mkdir(parents=True, exist_ok=True)
            for doc in data["docs"]:
                doc_id = str(doc["id"])
                if "/" in doc_id or "\0" in doc_id or doc_id.startswith("."):
                    raise RagError(f"Document id {doc_id!r} cannot be a file name.")
                title = str(doc.get("title") or "").replace("\n", " ").strip()
                header = f"Title: {title}\n\n" if title else ""
                (folder / f"{doc_id}.txt").write_text(header + doc["text"], encoding="utf-8")
            (root / "docs.done").write_text("ok")
    else:
        folder = Path(data["articles"])
        if not folder.is_absolute() and not folder.exists():
            folder = data_path.resolve().parent / folder
        if not folder.is_dir():
            raise RagError(f"The articles folder {data['articles']!r} named by {data_path} "
                           "does not exist; run from the project root.")
        key = hashlib.blake2b((str(folder.resolve()) + signature).encode(),
                              digest_size=10).hexdigest()
        root = settings.cache_dir / "eval" / key
    from dataclasses import replace

    from rag.config import is_milvus, parse

    if is_milvus(settings.store):  # the cache key names a collection on that server
        address = parse(settings.store)
        eval_settings = replace(settings, store=address.with_name(f"{address.name}_{key}").uri)
    elif settings.store:
        eval_settings = settings
    else:
        eval_settings = settings.with_(index_dir=index_dir or root / "index")
    sync([folder], eval_settings, embedder, show_progress=show_progress)
    return eval_settings


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[pos]


def eval_retrieval(search: Callable[[str, int], list], questions: list[dict],
                   show_progress: bool = False, misses: Path | None = None) -> dict:
    """Recall@1/5/10 and MRR@10 by document over the answerable questions.

    ``search(question, k)`` returns passages, best first; a hit is any passage of the
    question's ``doc_id``.
    """
    from tqdm import tqdm

    asked = [q for q in questions if not q.get("is_impossible") and q.get("doc_id")]
    ranks, latencies, missed = [], [], []
    for q in tqdm(asked, desc="retrieval", unit="q", disable=not show_progress):
        began = time.perf_counter()
        passages = search(q["question"], 10)
        latencies.append((time.perf_counter() - began) * 1000)
        docs = [p.article.id for p in passages]
        rank = docs.index(q["doc_id"]) + 1 if q["doc_id"] in docs else None
        ranks.append(rank)
        if rank != 1:
            missed.append({"id": q.get("id"), "question": q["question"], "doc_id": q["doc_id"],
                           "rank": rank, "top": docs[:5]})
    n = len(asked)

    def recall(k: int) -> float:
        return round(sum(1 for r in ranks if r and r <= k) / n, 4) if n else 0.0

    if misses is not None:
        Path(misses).write_text("\n".join(json.dumps(m, ensure_ascii=False) for m in missed)
                                + ("\n" if missed else ""), encoding="utf-8")
    return {
        "questions": n, "recall@1": recall(1), "recall@5": recall(5), "recall@10": recall(10),
        "mrr@10": round(sum(1 / r for r in ranks if r) / n, 4) if n else 0.0,
        "latency_ms": {"p50": round(percentile(latencies, 50), 1),
                       "p95": round(percentile(latencies, 95), 1)},
    }


def _contains(answer: str, gold: list[str], every: bool) -> bool:
    norm = normalize_answer(answer)
    hits = [normalize_answer(g) in norm for g in gold if normalize_answer(g)]
    return bool(hits) and (all(hits) if every else any(hits))


def _overlaps(quote: str, support: list[str], run: int = 4) -> bool:
    """Whether the quote shares a run of ``run`` words (or a whole short string) with any
    support string."""
    words = normalize_answer(quote).split()
    grams = {" ".join(words[i:i + run]) for i in range(max(1, len(words) - run + 1))}
    for s in support:
        sw = normalize_answer(s).split()
        if len(sw) < run and " ".join(sw) in " ".join(words):
            return True
        if any(" ".join(sw[i:i + run]) in grams for i in range(len(sw) - run + 1)):
            return True
    return False


def eval_answers(ask: Callable, questions: list[dict], show_progress: bool = False,
                 records: Path | None = None) -> dict:
    """Answer accuracy, refusals, citation precision, broken answers and latency (rules of
    the README), overall, per ``kind`` and for follow-ups apart.

    ``ask(question, history)`` returns an ``Answer``; a ``followup`` is asked next in the
    same conversation (its history holds the first answer as a ``Turn``).
    """
    from tqdm import tqdm

    from rag.types import Turn

    log = []
    for q in tqdm(questions, desc="answers", unit="q", disable=not show_progress):
        answer = ask(q["question"], [])
        log.append((q, answer))
        if q.get("followup"):
            f = {**q["followup"], "doc_id": q.get("doc_id"), "is_impossible": False,
                 "id": f"{q.get('id')}-followup", "kind": "followup"}
            log.append((f, ask(f["question"], [Turn(q["question"], answer)])))
    if records is not None:
        Path(records).write_text("".join(json.dumps(
            {"id": q.get("id"), "question": q["question"], "gold": q.get("answers"),
             "kind": q.get("kind"), "is_impossible": bool(q.get("is_impossible")),
             "right": _right(q, a), "right_cited": _right(q, a) and any(
                 _cite_ok(q, c) for c in a.citations),
             "broken": broken(a), **a.to_dict()},
            ensure_ascii=False) + "\n" for q, a in log), encoding="utf-8")
    result = {"questions": len(log), **_grade(log)}
    firsts = [a.timings["first_token_ms"] for _, a in log
              if a.timings.get("first_token_ms") is not None]
    totals = [a.timings["total_ms"] for _, a in log]
    result["latency_ms"] = {"first_token_p50": round(percentile(firsts, 50), 1),
                            "total_p50": round(percentile(totals, 50), 1),
                            "total_p95": round(percentile(totals, 95), 1)}
    kinds = sorted({q.get("kind") for q, _ in log if q.get("kind")})
    if kinds:
        result["by_kind"] = {k: {"questions": sum(1 for q, _ in log if q.get("kind") == k),
                                 **_grade([(q, a) for q, a in log if q.get("kind") == k])}
                             for k in kinds}
    return result


def _right(q: dict, a) -> bool:
    return not q.get("is_impossible") and not a.refused and _contains(
        a.text, q.get("answers", []), bool(q.get("all_answers")))


def _cite_ok(q: dict, c) -> bool:
    return c.article_id == q.get("doc_id") and (
        not q.get("support") or _overlaps(c.quote, q["support"]))


def _grade(log: list) -> dict:
    answerable = [(q, a) for q, a in log if not q.get("is_impossible")]
    impossible = [(q, a) for q, a in log if q.get("is_impossible")]
    right = [(q, a) for q, a in answerable if _right(q, a)]
    cited_right = [1 for q, a in right if any(_cite_ok(q, c) for c in a.citations)]
    cites = [(q, c) for q, a in answerable if not a.refused for c in a.citations]
    firsts = [(q, a.citations[0]) for q, a in answerable if not a.refused and a.citations]
    answered = [a for _, a in log if not a.refused]
    typed = [(q, a) for q, a in answerable if q.get("kind") in ("who", "when", "where",
                                                                  "number")]
    scores = [span_scores(a.span or "", q.get("answers", [])) for q, a in typed]

    def share(part, whole) -> float:
        return round(len(part) / len(whole), 4) if whole else 0.0

    lengths = sorted(len(a.text) for a in answered)
    return {
        "answer_accuracy": share(right, answerable),
        "right_with_citation": share(cited_right, answerable),
        "refusal_accuracy": share([1 for _, a in impossible if a.refused], impossible),
        "false_refusal_rate": share([1 for _, a in answerable if a.refused], answerable),
        "citation_precision": share([1 for q, c in cites if _cite_ok(q, c)], cites),
        "first_citation_precision": share([1 for q, c in firsts if _cite_ok(q, c)], firsts),
        "cited_answers": share([a for a in answered if a.citations], answered),
        "direct_answer": {"questions": len(typed),
                          "exact_match": round(sum(e for e, _ in scores) / len(scores), 4)
                          if scores else 0.0,
                          "f1": round(sum(f for _, f in scores) / len(scores), 4)
                          if scores else 0.0},
        "median_answer_chars": lengths[len(lengths) // 2] if lengths else 0,
        "broken_answers": sum(1 for _, a in log if broken(a)),
        "modes": {m: sum(1 for _, a in log if a.mode == m)
                  for m in ("generated", "extractive", "refused")},
    }


_CONTROL = re.compile(r"</?[a-z_]+>|<\|[^|]*\|>|\[/?INST\]|</?s>|<start_of_turn>|<end_of_turn>|"
                      r"</?(?:question|answer|passage|context)\b", re.IGNORECASE)
_ELLIPSIS = re.compile(r"\u2026|\.\.\.")
_ENDS = tuple(".!?\u201d\"\u2019')")


def broken(answer) -> list[str]:
    """Why an answer is broken, by the README's rules (empty when it is whole): template or
    control tokens; an ellipsis the cited sources do not have; unbalanced quotation marks
    (a quote opened and never closed); a cited claim that stops before its sentence ends
    (no closing punctuation before its marker)."""
    text = answer.text
    problems = []
    if _CONTROL.search(text):
        problems.append("template or control tokens")
    if answer.refused:
        return problems
    quotes = " ".join(c.quote for c in answer.citations)
    if len(_ELLIPSIS.findall(text)) > len(_ELLIPSIS.findall(quotes)):
        problems.append("an ellipsis the sources do not have")
    # Marks inside a verbatim quote are the source's; the rest must pair up.
    own = " ".join(text.split())
    for c in answer.citations:
        own = own.replace(" ".join(c.quote.split()), " ")
    if own.count("\u201c") != own.count("\u201d") or own.count('"') % 2:
        problems.append("unbalanced quotation marks")
    if answer.citations:
        ends = {" ".join(c.quote.split())[-30:] for c in answer.citations}
        for claim in re.split(r"\s*\[\d+\]\s*", text):
            claim = " ".join(claim.strip().lstrip("- ").split()).rstrip("\u201d")
            # A claim ends as a sentence does, or exactly where its cited source sentence
            # ends (a source may end a sentence with a reference mark: ".:245").
            if claim and not claim.endswith(_ENDS) and not any(
                    claim.endswith(e) for e in ends):
                problems.append(f"cut off: {claim[-40:]!r}")
                break
    return problems
