"""Load: concurrent chat clients against the running app while articles come and go.

``run_load`` starts nothing itself: give it the app's URL, the seeds folder the app
serves, an ``Assistant`` on the same index (it applies the churn) and the articles to
churn. Each client asks its questions through ``gradio_client`` (``/chat``); meanwhile the
churn adds and deletes articles and re-indexes after each step. Reported: requests,
errors, mixed answers (citing an article that was in no index generation live while the
question was being answered), refusals, latency p50/p95. Used by test_load.py and
bench/load.py.
"""

from __future__ import annotations

import math
import random
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rag.testing.corpus import write_news

SOURCE = re.compile(r"^\[\d+\] .*? \((?:\d{4}-\d{2}-\d{2}|undated)\) ([^\s:]+): ", re.MULTILINE)
SEED_QUESTIONS = ["What did Rutte say?", "What did Lavrov say?", "When did Moscow annex Crimea?",
                  "Who is Trump's envoy due in Russia on Friday?",
                  "What did Macron say about the strikes?"]


def quantiles(latencies: list[float]) -> dict:
    """p50 and p95 of the latencies, in seconds."""
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": pct(0.5), "p95": pct(0.95)}


def title(path: Path) -> str:
    return path.read_text(encoding="latin-1").split("\n", 1)[0].strip()


def pick_articles(folder: Path, n_stable: int, n_churn: int, seed: int = 0
                  ) -> tuple[list[Path], list[Path]]:
    """Generated articles (written under ``folder``) to serve from the start, and others
    to add and delete during the run."""
    stable = write_news(folder / "stable", seed, n_stable, prefix="s")
    churn = write_news(folder / "churn", seed + 1000, n_churn, prefix="c")
    return stable, churn


class Presence:
    """When each article was (possibly) in the live index: generous intervals, so an
    article counts as present from the moment its rebuild starts until the rebuild that
    removes it returns."""

    def __init__(self, initial: list[str]):
        self.spans: dict[str, list[list[float]]] = {a: [[-math.inf, math.inf]] for a in initial}
        self.lock = threading.Lock()

    def added(self, article: str, at: float) -> None:
        with self.lock:
            self.spans.setdefault(article, []).append([at, math.inf])

    def removed(self, article: str, at: float) -> None:
        with self.lock:
            self.spans[article][-1][1] = at

    def present_during(self, article: str, start: float, end: float) -> bool:
        with self.lock:
            return any(a <= end and start <= b for a, b in self.spans.get(article, []))


def churn(bot, seeds: Path, pool: list[Path], presence: Presence, stop: threading.Event,
          log: list[str], rng: random.Random) -> None:
    """Add an article, re-index; delete one, re-index; ... until ``stop`` is set."""
    present: list[tuple[Path, Path]] = []  # (copy in the seeds folder, its source)
    pending = list(pool)
    while not stop.is_set() and (pending or present):
        began = time.time()
        if pending and (not present or rng.random() < 0.6):
            src = pending.pop()
            target = seeds / f"churn-{src.stem}.txt"
            shutil.copy(src, target)
            present.append((target, src))
            presence.added(target.stem, began)
            report = bot.index([seeds])
            log.append(f"+{target.stem} ({report.chunks_embedded} chunks, {report.seconds:.1f} s)")
        else:
            target, src = present.pop(rng.randrange(len(present)))
            target.unlink()
            report = bot.index([seeds])
            presence.removed(target.stem, time.time())
            pending.insert(0, src)
            log.append(f"-{target.stem} ({report.seconds:.1f} s)")
        stop.wait(0.5)


def questions_for(client: int, n: int, stable: list[Path], churn_pool: list[Path],
                  rng: random.Random) -> list[str]:
    """A mix: the seed's questions, the served articles' headlines, the churned ones'."""
    mix = []
    for i in range(n):
        kind = (client + i) % 3
        if kind == 0:
            mix.append(SEED_QUESTIONS[(client + i) % len(SEED_QUESTIONS)])
        elif kind == 1:
            mix.append(f"What happened: {title(rng.choice(stable))}?")
        else:
            mix.append(f"What is the news about {title(rng.choice(churn_pool))}?")
    return mix


def run_load(url: str, bot, seeds: Path, stable: list[Path], churn_pool: list[Path], *,
             clients: int = 8, per_client: int = 5, seed: int = 0,
             min_changes: int = 0) -> dict:
    """Each client asks ``per_client`` questions, and goes on asking (more of the same
    mix) until the churn has made ``min_changes`` index changes, so the questions really
    overlap the changes however fast either side runs."""
    from gradio_client import Client

    rng = random.Random(seed)
    initial = [p.stem for p in seeds.iterdir()]
    presence = Presence(initial)
    stop, log = threading.Event(), []
    churner = threading.Thread(target=churn, args=(bot, seeds, churn_pool, presence, stop, log,
                                                   random.Random(seed)), daemon=True)
    records, lock = [], threading.Lock()

    def asking(n: int):
        yield from questions_for(n, per_client, stable, churn_pool, rng)
        extra = 0
        while len(log) < min_changes and churner.is_alive() and extra < 50:
            extra += 1
            yield questions_for(n + extra, 1, stable, churn_pool, rng)[0]

    def session(n: int) -> None:
        client = Client(url, verbose=False)
        for question in asking(n):
            began = time.time()
            try:
                reply, error = client.predict(question, api_name="/chat"), None
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                reply, error = "", f"{type(exc).__name__}: {exc}"
            ended = time.time()
            with lock:
                records.append({"client": n, "question": question, "reply": reply,
                                "error": error, "start": began, "end": ended})

    began = time.time()
    churner.start()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(session, range(clients)))
    stop.set()
    churner.join()
    return summarise(records, presence, log, time.time() - began)


def summarise(records: list[dict], presence: Presence, log: list[str], seconds: float) -> dict:
    errors, mixed, refusals, latencies = [], [], 0, []
    for r in records:
        latencies.append(r["end"] - r["start"])
        reply = r["reply"]
        if r["error"]:
            errors.append(r["error"])
            continue
        if reply.startswith("I couldn't find that in the articles"):
            refusals += 1
            continue
        cited = SOURCE.findall(reply)
        if not cited:  # neither an answer with sources nor a refusal: an error message
            errors.append(f"{r['question']!r} -> {reply[:200]!r}")
            continue
        for article in cited:
            if not presence.present_during(article, r["start"], r["end"]):
                mixed.append(f"{r['question']!r} cited {article}")
    return {"requests": len(records), "errors": len(errors), "mixed_answers": len(mixed),
            "refusals": refusals, "latency_s": quantiles(latencies),
            "index_changes": len(log), "seconds": round(seconds, 1),
            "error_examples": errors[:5], "mixed_examples": mixed[:5], "churn": log}


def model_questions(articles: list[Path], n: int, seed: int = 0) -> list[str]:
    """Questions about the generated articles that the LLM answers (not who / when /
    where / how many / quote questions, which are answered from the text alone)."""
    rng = random.Random(seed)
    forms = ["What is expected on {topic} in {city}?",
             "What did the figures show about {topic}?",
             "What is planned for {topic} in {city}?"]
    out = []
    for i in range(n):
        head = title(rng.choice(articles))  # "Leeds row over bank charges (3)"
        city, _, rest = head.partition(" row over ")
        topic = rest.rsplit(" (", 1)[0] or head
        out.append(forms[i % len(forms)].format(topic=topic, city=city))
    return out


def run_openai_load(url: str, questions: list[str], clients: int, key: str = "none") -> dict:
    """``clients`` chat sessions of the ``openai`` client share ``questions`` through the app's
    ``/v1/chat/completions``; latency p50/p95, throughput and how each was answered."""
    import openai

    records, lock, todo = [], threading.Lock(), list(enumerate(questions))

    def session(_: int) -> None:
        client = openai.OpenAI(base_url=url.rstrip("/") + "/v1", api_key=key, max_retries=0,
                               timeout=600)
        while True:
            with lock:
                if not todo:
                    return
                _, question = todo.pop(0)
            began = time.time()
            try:
                done = client.chat.completions.create(
                    model="rag-news", messages=[{"role": "user", "content": question}])
                mode, error = done.model_extra.get("mode"), None
                if done.model_extra.get("notice"):  # quoted because the model server failed
                    mode = f"{mode} (server error)"
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                mode, error = None, f"{type(exc).__name__}: {exc}"
            with lock:
                records.append({"seconds": time.time() - began, "mode": mode,
                                "error": error})

    began = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(session, range(clients)))
    wall = time.time() - began
    modes: dict[str, int] = {}
    for r in records:
        modes[r["mode"] or "error"] = modes.get(r["mode"] or "error", 0) + 1
    return {"requests": len(records), "errors": sum(1 for r in records if r["error"]),
            "latency_s": quantiles([r["seconds"] for r in records]),
            "seconds": round(wall, 1),
            "per_minute": round(60 * len(records) / wall, 1), "modes": modes,
            "error_examples": [r["error"] for r in records if r["error"]][:3]}
