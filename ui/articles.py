"""The Articles tab's work, apart from Gradio: what the index holds, adding files, and
deleting exactly the article a person chose, after they confirmed it.

Every list and count is read from the live index when asked (page load, after a change,
and when another tab or `rag index` in a shell has written a new generation), never
remembered from when the page was built.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rag import Assistant, RagError
from rag.articles import iter_files
from rag.config import SUPPORTED_SUFFIXES
from rag.types import Article

from .render import escape


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
    return f"{a.title} \u00b7 {a.date or 'undated'} \u00b7 {a.id}"


class Library:
    """The seeds folder and the index behind the Articles tab; serialises changes."""

    def __init__(self, bot: Assistant, seeds_dir: Path, writable: bool = True):
        self.bot = bot
        self.seeds_dir = Path(seeds_dir)
        self.writable = writable  # False: a shared index that `rag index` jobs write
        self.lock = threading.Lock()

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
                        [[a.id, a.title, a.date or ""] for a in articles],
                        [(label(a), a.id) for a in articles],
                        self.examples(articles))

    def _llm(self) -> str:
        """The LLM's name, and where it runs when that is a model server."""
        s = self.bot.settings
        if not s.llm_urls:
            return s.model
        return f"{self.bot.generator.name} at {', '.join(s.llm_urls)}"

    def examples(self, articles: list[Article], n: int = 3) -> list[str]:
        """Questions the loaded articles can answer: "What did X say?" for the person
        quoted most in each of the newest articles."""
        try:
            full = self.bot.articles([a.id for a in articles[:12]], with_text=True)
        except RagError:
            return []
        out: list[str] = []
        for a in full:
            speaker = main_speaker(a.text)
            question = f"What did {speaker} say?" if speaker else None
            if question and question not in out:
                out.append(question)
            if len(out) == n:
                break
        return out

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
        for path, _ in iter_files([self.seeds_dir]):
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


# A person named as the one speaking: "Mr Brown said", "said Gordon Brown", "Lavrov told".
_TITLED = r"(?:Mr|Mrs|Ms|Dr|Prof|Sir|Lord|Lady|President|Chancellor|Minister)\.? [A-Z]\w+"
_NAME = r"[A-Z][a-z]\w+(?: [A-Z][a-z]\w+){0,2}"
_SAYS = r"(?:said|says|told|added|warned|argued)"
_SPEAKER = re.compile(rf"\b({_TITLED}|{_NAME}) {_SAYS}\b|\b{_SAYS} ({_TITLED}|{_NAME})\b")
_HONORIFIC = ("Mr ", "Mrs ", "Ms ", "Dr ")
_NOT_NAMES = frozenset("""He She It They We I You This That These Those There The A An But And
Yet So If When While Officials Police Analysts Critics Experts Sources Reports Ministers
Government Company Spokesman Spokeswoman""".split())


def main_speaker(text: str) -> str | None:
    """The person an article quotes most often, or None. "Minister Sergey Lavrov said"
    and "Lavrov told" are one person (the same last name), asked about as "Lavrov", or
    as "Mr Brown" where the article itself says so."""
    forms: dict[str, Counter[str]] = {}
    for m in _SPEAKER.finditer(text):
        name = m[1] or m[2]
        before = text[max(0, m.start() - 4):m.start()].lower()
        if name.split()[0] in _NOT_NAMES or before.endswith("the "):
            continue
        forms.setdefault(name.split()[-1], Counter())[name] += 1
    if not forms:
        return None
    surname = max(forms, key=lambda k: sum(forms[k].values()))  # ties: first named
    form = forms[surname].most_common(1)[0][0]
    return form if form.startswith(_HONORIFIC) else surname


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
