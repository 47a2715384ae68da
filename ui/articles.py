"""The Articles tab's work, apart from Gradio: what the index holds, adding files, and
deleting exactly the article a person chose, after they confirmed it.

Every list and count is read from the live index when asked (page load, after a change,
and when another tab or `rag index` in a shell has written a new generation), never
remembered from when the page was built.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rag import SUPPORTED_SUFFIXES, Article, Assistant, RagError

from .examples import KINDS, Offer, main_speaker  # noqa: F401
from .render import escape, heading

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """What the page shows of the index, read in one go."""

    generation: str  # "" when there is no index
    status: str  # Markdown
    rows: list[list[str]]  # id, title, date
    choices: list[tuple[str, str]]  # (label, article id) for the Delete and Filters lists
    examples: list[str]


@dataclass(frozen=True)
class Pending:
    """A delete a person asked for and has yet to confirm."""

    article_id: str
    prompt: str  # Markdown naming the article and its file


def label(a: Article) -> str:
    """How an article is named in a list: title, date, id."""
    return f"{heading(a.title, a.path)} \u00b7 {a.date or 'undated'} \u00b7 {a.id}"


class Library:
    """The seeds folder and the index behind the Articles tab; serialises changes."""

    def __init__(self, bot: Assistant, seeds_dir: Path, writable: bool = True):
        self.bot = bot
        self.seeds_dir = Path(seeds_dir)
        self.writable = writable  # False: a shared index that `rag index` jobs write
        self.lock = threading.Lock()
        self._examples_lock = threading.Lock()
        self._examples: tuple[str, list[str]] = ("", [])  # (generation, questions)

    def read_only(self) -> str:
        return (f"This page reads a shared index ({escape(str(self.bot.settings.location))}),"
                " which `rag index` jobs update; start `rag serve --index` to add and "
                "delete articles from here. Nothing was changed.")

    # -- reading ---------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        try:
            status = self.bot.status()
            articles = self.bot.articles()
        except RagError as exc:
            return Snapshot("", escape(str(exc)), [], [], [])
        when = datetime.fromtimestamp(status.updated).strftime("%Y-%m-%d %H:%M:%S")
        text = (f"**{status.articles}** articles, **{status.chunks}** chunks, updated {when}."
                f" Embedder `{status.embedder}`, LLM `{self._llm()}`.")
        if status.undated:
            text += f" {status.undated} undated (a date filter leaves them out)."
        return Snapshot(status.generation, text,
                        [[a.id, heading(a.title, a.path), a.date or ""] for a in articles],
                        [(label(a), a.id) for a in articles],
                        self.examples(articles, status.generation))

    def _llm(self) -> str:
        """The LLM's name, and where it runs when that is a model server."""
        s = self.bot.settings
        if not s.llm_urls:
            return s.model
        return f"{self.bot.generator.name} at {', '.join(s.llm_urls)}"

    def examples(self, articles: list[Article], generation: str = "", n: int = 5,
                 least: int = 3, tries: int = 16) -> list[str]:
        """Up to ``n`` questions the loaded articles answer, in rounds of one of each kind
        (what someone said, a count or a date, a summary; ``examples.py``; no kind more
        than its share of ``n``), each from the newest article that has not given one
        yet; only while fewer than ``least`` were found does an article give a second.
        Each is asked before it is shown (at most ``tries`` questions) and kept only when
        it is answered, as its kind, from the article (and sentence) it was made from.
        Made once per index generation."""
        with self._examples_lock:
            if generation and self._examples[0] == generation:
                return list(self._examples[1])
            try:
                full = self.bot.articles([a.id for a in articles[:12]], with_text=True)
            except RagError:
                return []
            out: list[str] = []
            offers = [Offer(a, self.bot.opening_statements) for a in full]
            asked: dict[str, bool] = {}  # each question is asked once

            def answered(question: str, quoting: str, offer: Offer, kind: str) -> bool:
                if question not in asked:
                    if len(asked) >= tries:
                        return False
                    asked[question] = self._answers(question, offer.article.id, kind, quoting)
                return asked[question]

            share = -(-n // len(KINDS))

            def take(kind: str, again: bool) -> bool:
                """Add a question of ``kind`` from the newest article that answers one and
                has given none yet (``again``: none of this kind)."""
                if sum(kind in o.used for o in offers) >= share:
                    return False
                for offer in offers:
                    if kind in offer.used or (offer.used and not again):
                        continue
                    question = next((q for q, quoting in offer.questions(kind)[:2]
                                     if q not in out and answered(q, quoting, offer, kind)),
                                    None)
                    if question:
                        out.append(question)
                        offer.used.add(kind)
                        return True
                return False

            for again, enough in ((False, n), (True, least)):
                added = True
                while added and len(out) < enough:
                    added = False
                    for kind in KINDS:
                        if len(out) < enough and take(kind, again):
                            added = True
            if generation:
                self._examples = (generation, out)
            return out

    def _answers(self, question: str, article_id: str, kind: str, quoting: str = "") -> bool:
        """Whether the assistant answers ``question`` as a ``kind`` question, citing the
        article it was made from first (and in it the sentence ``quoting``, when given: a
        count or a date made from a sentence is answered from that sentence)."""
        try:
            answer = self.bot.ask(question)
        except Exception:  # a failing question costs one example, never the page
            log.warning("example %r was not answered", question, exc_info=True)
            return False
        if answer.refused or answer.kind not in KINDS[kind] or not answer.citations:
            return False
        first = answer.citations[0]
        return first.article_id == article_id and (
            not quoting or quoting in " ".join(first.quote.split()))

    # -- adding ----------------------------------------------------------------------

    def upload(self, files, progress=lambda *a, **k: None) -> str:
        """Save the files in the seeds folder and index them; returns the message shown.

        A file whose content is already in the folder is not added again; a new file with
        a name that is taken gets ``name (2)``, never an overwrite.
        """
        if not self.writable:
            return self.read_only()
        saved, problems, present = [], [], []
        existing = self._contents()
        for f in files or []:
            src = Path(f if isinstance(f, str) else f.name)
            name = safe_name(src.name)
            if name is None:
                problems.append(f"{escape(src.name)}: not a supported file type "
                                f"({', '.join(SUPPORTED_SUFFIXES)})")
                continue
            size = src.stat().st_size
            if size == 0:
                problems.append(f"{escape(name)}: the file is empty")
                continue
            limit = self.bot.settings.max_upload_bytes
            if size > limit:
                problems.append(f"{escape(name)}: {size:,} bytes is over the "
                                f"{limit:,}-byte limit")
                continue
            data = src.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in existing:
                present.append(f"{escape(name)} is already there as "
                               f"{escape(existing[digest].name)}")
                continue
            self.seeds_dir.mkdir(parents=True, exist_ok=True)
            target = unique_path(self.seeds_dir, name)
            target.write_bytes(data)
            existing[digest] = target
            saved.append(target.name if target.name == name
                         else f"{target.name} ({name} was taken)")
        message = ""
        if saved:
            progress(0.1, desc="Indexing")
            with self.lock:
                report = self.bot.index([self.seeds_dir])
            message = (f"Added {', '.join(escape(s) for s in saved)}: "
                       f"{report.added} new, {report.changed} changed articles, "
                       f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s.")
            for s in report.skipped:
                problems.append(f"{escape(Path(s.path).name)}: {escape(s.reason)}")
        if present:
            message += ("\n\n" if message else "") + "Not added again: " + "; ".join(present) \
                + "."
        if problems:
            message += ("\n\n" if message else "") + "Not added:\n" + \
                "\n".join(f"- {p}" for p in problems)
        return message or "Choose files to upload first."

    def _contents(self) -> dict[str, Path]:
        """The seeds folder's supported files by the sha256 of their content."""
        out = {}
        for path in self.bot.article_files(self.seeds_dir):
            try:
                out.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path)
            except OSError:
                continue
        return out

    # -- deleting --------------------------------------------------------------------

    def ask_delete(self, article_id: str | None) -> tuple[str, Pending | None]:
        """The first step of a delete: name what would go, or say why nothing can."""
        if not self.writable:
            return self.read_only(), None
        if not article_id:
            return "Choose an article from the list first; nothing was deleted.", None
        found, problem = self._deletable(article_id)
        if found is None:
            return problem, None
        path = Path(found.path)
        siblings = [a for a in self.bot.articles() if a.path == found.path]
        what = (f"**{escape(found.title)}** ({found.date or 'undated'}), file "
                f"\u201c{escape(path.name)}\u201d")
        if len(siblings) > 1:
            what += f", which holds {len(siblings)} articles: all of them go"
        prompt = (f"Delete {what}? The file is removed from the seeds folder and the "
                  "article from the index. This cannot be undone.")
        return prompt, Pending(found.id, prompt)

    def confirm_delete(self, pending: Pending | None, chosen: str | None) -> str:
        """The second step: delete exactly the article that was named, if it is still the
        one chosen and still there."""
        if pending is None:
            return "Nothing to confirm; nothing was deleted."
        if chosen != pending.article_id:
            return "The choice changed before it was confirmed; nothing was deleted."
        found, problem = self._deletable(pending.article_id)
        if found is None:
            return problem
        with self.lock:
            try:
                removal = self.bot.remove(found.id, delete_file=True)
            except RagError as exc:
                return f"Nothing was deleted: {escape(str(exc))}"
        others = len(removal.articles) - 1
        return (f"Deleted **{escape(found.title)}** (\u201c{escape(Path(removal.path).name)}\u201d"
                + (f" and the {others} other articles it held" if others > 0 else "")
                + f"): the file and its {removal.chunks} chunks are gone.")

    def _deletable(self, article_id: str) -> tuple[Article | None, str]:
        try:
            found = self.bot.articles([article_id])
        except RagError as exc:
            return None, escape(str(exc))
        if not found:
            return None, (f"No article with the id \u201c{escape(article_id)}\u201d is in the "
                          "index (it may have been deleted elsewhere); nothing was deleted.")
        article = found[0]
        path = Path(article.path).resolve()
        if self.seeds_dir.resolve() not in path.parents:
            return None, (f"\u201c{escape(article.id)}\u201d was indexed from outside the seeds "
                          "folder and can only be removed there; nothing was deleted.")
        return article, ""


def safe_name(name: str) -> str | None:
    """The file's base name made safe, or None for an unsupported type."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    if not base or Path(base).suffix.lower() not in SUPPORTED_SUFFIXES:
        return None
    return base


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name (2)``, ``name (3)``... when it is taken: never overwrite."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while target.exists():
        target = folder / f"{stem} ({n}){suffix}"
        n += 1
    return target
