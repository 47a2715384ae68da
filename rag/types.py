"""Records that flow between the pipeline's stages: small, frozen, JSON-ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Article:
    """One news article as read from disk.

    ``id`` is stable for a given file (its path relative to the folder it was indexed
    from, without the suffix; ``#n`` is appended for line ``n`` of a ``.jsonl`` feed).
    ``path`` is the absolute file path, the identity used for incremental rebuilds.
    """

    id: str
    path: str
    title: str
    date: str | None
    source: str | None
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A span of an article's text: ``article.text[start:end] == text``.

    ``sentences`` holds the (start, end) offsets of each sentence inside the article
    text, for highlighting cited sentences.
    """

    id: int
    article_id: str
    ord: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sentences"] = [list(s) for s in self.sentences]
        return d


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's metadata and a relevance score."""

    chunk: Chunk
    article: Article
    score: float

    def excerpt(self, limit: int) -> str:
        """The passage's first whole sentences up to ``limit`` characters, with an ellipsis
        when the passage goes on; a first sentence longer than that is cut at a word and
        marked with an ellipsis, never mid-word."""
        text = self.article.text
        spans = list(self.chunk.sentences) or [(self.chunk.start, self.chunk.end)]
        end = spans[0][1]
        for _, e in spans[1:]:
            if e - spans[0][0] > limit:
                break
            end = e
        shown = " ".join(text[spans[0][0]:end].split())
        if len(shown) <= limit:
            return shown + (" \u2026" if end < self.chunk.end else "")
        cut = shown.rfind(" ", 0, limit)
        return shown[:cut if cut > 0 else limit].rstrip(" ,;:") + " \u2026"

    def to_dict(self) -> dict:
        return {
            "article_id": self.article.id,
            "title": self.article.title,
            "date": self.article.date,
            "path": self.article.path,
            "chunk_id": self.chunk.id,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "score": round(float(self.score), 6),
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class Skipped:
    """A file (or a line of a feed) that could not be read, and why."""

    path: str
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class IndexReport:
    """What one ``index`` run changed. ``sentences_embedded`` counts the sentences of the
    embedded chunks, whose vectors came from the same pass (``rag.index.pooling``)."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: tuple[Skipped, ...] = ()
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    sentences_embedded: int = 0

    def to_dict(self) -> dict:
        return {
            "articles": {
                "added": self.added,
                "changed": self.changed,
                "unchanged": self.unchanged,
                "deleted": self.deleted,
                "skipped": [s.to_dict() for s in self.skipped],
            },
            "chunks_embedded": self.chunks_embedded,
            "chunks_total": self.chunks_total,
            "sentences_embedded": self.sentences_embedded,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Filters:
    """Restrict a search by article date (inclusive, ``YYYY-MM-DD``) and/or article ids.

    Undated articles never match a date bound.
    """

    since: str | None = None
    until: str | None = None
    articles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        import re

        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(f"{name} must be a date like 2025-04-30, not {value!r}")
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        object.__setattr__(self, "articles", tuple(self.articles or ()))

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.articles)

    def to_dict(self) -> dict:
        return {"since": self.since, "until": self.until, "articles": list(self.articles)}


@dataclass(frozen=True)
class Citation:
    """Where a claim of an answer comes from: marker ``[n]`` and the exact quoted text.

    ``start`` and ``end`` are offsets into the article text; ``quote`` is
    ``article.text[start:end]``.
    """

    n: int
    article_id: str
    title: str
    date: str | None
    path: str
    start: int
    end: int
    quote: str
    chunk_id: int | None = None  # the passage (chunk) the quote was found in

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """An answer with its citations.

    ``mode`` is ``"generated"`` (the model's words, each sentence checked against its
    passage), ``"extractive"`` (sentences quoted verbatim from the articles) or
    ``"refused"`` (the articles do not answer it; ``passages`` holds the closest ones).
    ``kind`` is what the question asked for (who, when, where, number, quote, why,
    overview, summary, other); ``span`` the direct answer of a who / when / where / how
    many question, verbatim from the first cited sentence (None otherwise). ``notice``
    says, for a person, why the answer is not what it would normally be ("the model
    server is down, so this quotes the articles"); ``fault`` names the error behind it
    (``"ModelServerDown"``, ``"ModelServerTimeout"``, ``"ModelServerReply"``) or is "", and
    ``fault_message`` is that error's message ("The model server at ... is down ...").
    """

    text: str
    mode: str
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    timings: dict = field(default_factory=dict)
    span: str | None = None
    kind: str = "other"
    notice: str = ""
    fault: str = ""
    fault_message: str = ""

    @property
    def refused(self) -> bool:
        return self.mode == "refused"

    def to_dict(self) -> dict:
        return {"answer": self.text, "mode": self.mode, "kind": self.kind, "span": self.span,
                "notice": self.notice,
                "citations": [c.to_dict() for c in self.citations],
                "passages": [p.to_dict() for p in self.passages],
                "timings": dict(self.timings)}


@dataclass(frozen=True)
class Progress:
    """What the assistant is doing while no answer text is ready ("Searching the
    articles"): a status to show apart from the answer, never part of it."""

    text: str


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation: the question and what was answered, an
    ``Answer`` where the face kept it (the page, the API), or plain text where a face has
    only text (an OpenAI-style client)."""

    question: str
    answer: Answer | str = ""

    @property
    def answer_text(self) -> str:
        return self.answer.text if isinstance(self.answer, Answer) else self.answer


def turns(history) -> list[Turn]:
    """Earlier exchanges as ``Turn`` records, from ``Turn``s, ``(question, answer)`` pairs
    or ``{"role": "user" | "assistant", "content": str}`` messages (oldest first)."""
    out: list[Turn] = []
    for item in history or ():
        if isinstance(item, Turn):
            out.append(item)
        elif isinstance(item, dict):
            content = item.get("content")
            if not isinstance(content, (str, Answer)):
                continue
            if item.get("role") == "user" and content:
                out.append(Turn(str(content)))
            elif item.get("role") == "assistant" and out and not out[-1].answer:
                out[-1] = Turn(out[-1].question, content)
        elif isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
            out.append(Turn(item[0], item[1] if len(item) > 1 and isinstance(
                item[1], (str, Answer)) else ""))
    return out


@dataclass(frozen=True)
class IndexStatus:
    """What the live index holds: counts, when it last changed, what built it."""

    articles: int
    chunks: int
    files: int
    updated: float  # seconds since the epoch
    embedder: str
    generation: str
    undated: int = 0  # articles without a date (a date filter leaves them out)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Removal:
    """What ``Assistant.remove`` took out of the index (and off the disk).

    A file is the unit of the index: removing an article of a ``.jsonl`` feed removes
    every article of that file.
    """

    path: str
    articles: tuple[str, ...]
    chunks: int
    file_deleted: bool

    def to_dict(self) -> dict:
        d = asdict(self)
        d["articles"] = list(self.articles)
        return d
