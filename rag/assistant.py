"""``Assistant``: the one object the UI, the CLI and Python users call."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from rag.config import Settings
from rag.errors import InvalidQuestion
from rag.index import Embedder, make_embedder
from rag.types import Answer, Article, Filters, IndexReport, IndexStatus, Passage, Removal


class Assistant:
    """Index folders of articles and search them.

    Args:
        settings: Configuration; ``Settings.from_env()`` when omitted.
        embedder: An embedder to use instead of the one ``settings.embedder`` names.
        generator: A generator to use instead of the model ``settings.model`` names.

    Example:
        >>> bot = Assistant(Settings(index_dir="index"))
        >>> bot.index(["seeds"])
        >>> bot.search("What did Rutte say?")[0].article.title
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 generator=None):
        self.settings = settings or Settings.from_env()
        self._embedder = embedder
        self._generator = generator
        self._store = None
        self._reranker = None
        self._lock = threading.Lock()
        self._making = threading.Lock()  # the embedder and the LLM are made once

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._making:
                if self._embedder is None:
                    self._embedder = make_embedder(self.settings.embedder,
                                                   self.settings.embed_batch_size,
                                                   self.settings.light_max_tokens)
        return self._embedder

    @property
    def store(self):
        """The live index generation; reopened when a rebuild has replaced it."""
        from rag.index import check_compatible
        from rag.stores import open_store

        with self._lock:
            if self._store is None or not self._store.is_current():
                store = open_store(self.settings.location)
                check_compatible(store, self.settings, self.embedder.model_id)
                self._store = store  # the old view stays usable by readers still holding it
            return self._store

    def index(self, paths: Iterable[Path | str] | None = None, *, rebuild: bool = False,
              show_progress: bool = False) -> IndexReport:
        """Add new and changed articles under ``paths`` and drop deleted ones.

        Args:
            paths: Folders or files; ``settings.seeds_dir`` when omitted.
            rebuild: Start from an empty index (after changing embedder or chunker).
            show_progress: Show a progress bar while embedding.
        """
        from rag.index import sync

        paths = list(paths) if paths else [self.settings.seeds_dir]
        return sync(paths, self.settings, self.embedder, rebuild=rebuild,
                    show_progress=show_progress)

    def status(self) -> IndexStatus:
        """What the live index holds (read anew: another process may have changed it).

        Raises:
            IndexNotFound: there is no index yet.
        """
        store = self.store
        m = store.manifest
        return IndexStatus(articles=m.counts.articles, chunks=m.counts.chunks,
                           files=m.counts.files, updated=m.updated, embedder=m.embedder_id,
                           generation=store.generation, undated=store.undated_count())

    def articles(self, ids: Sequence[str] | None = None, *, with_text: bool = False
                 ) -> list[Article]:
        """The indexed articles (or those of ``ids``, exact ids; unknown ones are left
        out), newest first with undated ones last; without their text unless asked."""
        found = list(self.store.articles(None if ids is None else list(ids),
                                         with_text=with_text).values())
        dated = [a for a in found if a.date]
        return sorted(dated, key=lambda a: (a.date, a.id), reverse=True) + \
            sorted((a for a in found if not a.date), key=lambda a: a.id)

    def remove(self, article_id: str, delete_file: bool = False) -> Removal:
        """Take an article out of the index by its exact id; with ``delete_file`` its file
        is deleted too, in one operation (both happen or neither does).

        A file is the unit: removing one article of a ``.jsonl`` feed removes the feed's
        other articles too. Without ``delete_file`` the next ``index`` run over the
        article's folder adds it back.

        Raises:
            ArticleNotFound: no article has exactly that id.
        """
        from rag.index import remove

        return remove(self.settings, article_id, delete_file=delete_file)

    def retriever(self):
        """A hybrid retriever over the live index generation."""
        from rag.answer import CrossEncoderReranker, Retriever

        s = self.settings
        if s.reranker and self._reranker is None:
            self._reranker = CrossEncoderReranker(s.reranker)
        return Retriever.from_settings(self.store, self.embedder, s, self._reranker)

    def search(self, query: str, k: int | None = None,
               filters: Filters | None = None) -> list[Passage]:
        """The passages most relevant to ``query``, best first.

        Args:
            query: What to look for, in plain words.
            k: How many passages (default ``settings.top_k``).
            filters: Restrict to a date range and/or some articles. A filter that matches
                nothing gives an empty list.

        Raises:
            InvalidQuestion: the query is empty or too long.
            IndexNotFound: there is no index yet.
        """
        query = self._check_query(query)
        return self.retriever().search(query, k or self.settings.top_k, filters)

    @property
    def generator(self):
        """The LLM: the model servers ``settings.llm_urls`` names, else the in-process
        model ``settings.model``."""
        if self._generator is None:
            with self._making:
                if self._generator is None:
                    self._generator = make_generator(self.settings)
        return self._generator

    def ask(self, question: str, history: Sequence | None = None,
            filters: Filters | None = None) -> Answer:
        """Answer ``question`` from the articles, with citations, or refuse.

        Args:
            question: The question.
            history: Earlier turns of the conversation, as ``(question, answer)`` pairs or
                ``{"role": ..., "content": ...}`` messages; follow-ups use it.
            filters: Restrict the articles used.
        """
        answer = None
        for item in self.stream(question, history, filters):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: Sequence | None = None,
               filters: Filters | None = None) -> Iterator[str | Answer]:
        """Yield the answer's text as it is generated, then the final, verified ``Answer``.

        The streamed text is the model's draft; the final ``Answer.text`` keeps only what the
        passages support (or quotes them, or refuses), so show that when it arrives.
        """
        question = self._check_query(question)
        yield from self.answerer().stream(question, history or [], filters)

    def answerer(self):
        """The answer pipeline over the live index, with this assistant's models."""
        from rag.answer import Answerer

        return Answerer(self.retriever(), self.embedder, self.generator, self.settings)

    # -- for the faces: what they need beyond asking and indexing -----------------------

    @property
    def shared_index(self) -> bool:
        """Whether the index is on a Milvus server that ``rag index`` jobs write (so a
        face reads it and does not index its own folder)."""
        from rag.stores import is_shared

        return is_shared(self.settings.location)

    def check_index(self) -> tuple[str, list[str]]:
        """The live generation's name and its integrity problems (empty when all is well)."""
        from rag.stores import open_store

        store = open_store(self.settings.location)
        return store.generation, store.check()

    def watch(self, paths: Iterable[Path | str], on_change) -> None:
        """Call ``on_change()`` whenever an article under ``paths`` is added, changed or
        removed (until interrupted)."""
        from rag.index import watch

        watch([Path(p) for p in paths], on_change)

    def warm_up(self) -> str | None:
        """Load the models now (the LLM, the question parser, the reader) so the first
        question is answered at full speed; returns why the LLM cannot be used, if so."""
        from rag.answer import warm_up

        problem = self.generator.prepare()
        warm_up()
        return problem

    def article_files(self, folder: Path | str) -> list[Path]:
        """The article files under ``folder`` that indexing reads, sorted."""
        from rag.ingest import iter_files

        return [path for path, _ in iter_files([Path(folder)])]

    def opening_statements(self, article: Article, limit: int = 25) -> list:
        """The parsed (spaCy) sentences among the first of ``article`` that are
        statements (five words or more, ending with a full stop or a closing quote)."""
        from rag.answer import parse
        from rag.ingest import sentence_spans

        text, out = article.text, []
        for s, e in sentence_spans(text):
            sentence = " ".join(text[s:e].split())
            if len(sentence.split()) >= 5 and sentence.endswith((".", "\u201d", '"')):
                out.append(sentence)
            if len(out) == limit:
                break
        return parse(out)

    def _check_query(self, query: str) -> str:
        if not isinstance(query, str) or not query.strip():
            raise InvalidQuestion("The question is empty - type a question about the articles.")
        if len(query) > self.settings.max_question_chars:
            raise InvalidQuestion(
                f"The question is {len(query):,} characters long; the limit is "
                f"{self.settings.max_question_chars:,}. Ask something shorter.")
        if not any(ch.isalnum() for ch in query):
            raise InvalidQuestion("That has no words in it - ask a question about the "
                                  "articles, e.g. \"What did Rutte say?\"")
        return query.strip()


def make_generator(settings: Settings):
    """The generator the settings name (nothing is loaded or contacted yet)."""
    if settings.llm_urls:
        from rag.answer import OpenAIGenerator, api_key

        return OpenAIGenerator(settings.llm_urls, settings.llm_model, api_key(), settings)
    from rag.answer import LlamaGenerator

    return LlamaGenerator(settings.model, settings.cache_dir, n_ctx=settings.n_ctx,
                          repeat_penalty=settings.repeat_penalty,
                          temperature=settings.temperature)
