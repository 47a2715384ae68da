"""The Gradio chat page: a thin layer over ``rag.Assistant``.

Chat (streamed, cited answers with their sources under them), filters (date range,
articles), and an Articles tab (index status, the article list, upload and delete).
The chat is also an API: ``gradio_client.Client(url).predict(message, api_name="/chat")``.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from datetime import datetime
from pathlib import Path

import gradio as gr

from rag import Assistant, RagError
from rag.config import SUPPORTED_SUFFIXES
from rag.types import Answer, Filters

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 10_000_000
UNEXPECTED = ("Something went wrong while answering that (the server log has the details). "
              "Please try again.")
EXAMPLES = ["What did Rutte say?", "What did Lavrov say?", "When did Moscow annex Crimea?"]
_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|!~])")


def escape(text: str) -> str:
    """Article text shown as text: no HTML, no Markdown (links, images) from an article."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", " ")


def render_answer(answer: Answer) -> str:
    """The answer with its numbered sources below it, each quoting the cited passage with
    the cited sentence highlighted."""
    lines = [escape(answer.text) if answer.mode != "refused" else f"**{escape(answer.text)}**"]
    if answer.citations:
        lines.append("\n\n**Sources**")
        by_passage = {}
        for p in answer.passages:
            by_passage.setdefault(p.article.id, []).append(p)
        for c in answer.citations:
            lines.append(f"\n<a id=\"src-{c.n}\"></a>**[{c.n}] {escape(c.title)}** "
                         f"({c.date or 'undated'} \u00b7 {escape(c.article_id)})\n\n"
                         f"> {in_context(answer, c)}")
    elif answer.passages:
        lines.append("\n\n**Closest passages** (they do not answer the question)")
        for p in answer.passages:
            a = p.article
            lines.append(f"\n- **{escape(a.title)}** ({a.date or 'undated'}): "
                         f"{escape(p.chunk.text[:300])}")
    return "\n".join(lines)


def in_context(answer: Answer, c) -> str:
    """The cited sentence highlighted, between the sentences around it in its passage."""
    for p in answer.passages:
        if p.article.id == c.article_id and p.chunk.start <= c.start and c.end <= p.chunk.end:
            spans = list(p.chunk.sentences)
            i = next((k for k, (s, _) in enumerate(spans) if s >= c.start), 0)
            j = next((k for k, (_, e) in enumerate(spans) if e >= c.end), len(spans) - 1)
            t = p.article.text
            before = t[spans[i - 1][0]:c.start] if i > 0 else ""
            after = t[c.end:spans[j + 1][1]] if j + 1 < len(spans) else ""
            return (("\u2026 " if i > 1 else "") + escape(before) + "<mark>" + escape(c.quote)
                    + "</mark>" + escape(after) + (" \u2026" if j + 2 < len(spans) else ""))
    return f"<mark>{escape(c.quote)}</mark>"


def plain_answer(answer: Answer) -> str:
    """The answer and its numbered sources as plain text (for API clients)."""
    out = [answer.text]
    for c in answer.citations:
        out.append(f"[{c.n}] {c.title} ({c.date or 'undated'}) {c.article_id}: {c.quote}")
    return "\n".join(out)


class ChatApp:
    """Owns the Assistant and the seeds folder; serialises index rebuilds."""

    def __init__(self, bot: Assistant, seeds_dir: Path):
        self.bot = bot
        self.seeds_dir = Path(seeds_dir)
        self.index_lock = threading.Lock()

    # -- chat --------------------------------------------------------------------------

    def respond(self, message, history, since="", until="", articles=None):
        try:
            filters = Filters(since=since or None, until=until or None,
                              articles=tuple(articles or ()))
        except ValueError as exc:
            yield f"**Filter problem:** {escape(str(exc))}"
            return
        try:
            draft = ""
            for item in self.bot.stream(message, history=history or [], filters=filters):
                if isinstance(item, str):
                    draft += item
                    yield escape(draft) + " \u2026"
                else:
                    yield render_answer(item)
        except RagError as exc:
            yield f"**{escape(str(exc))}**"
        except Exception:  # a bug must cost one reply, not the page; the log has the details
            log.exception("answering %r failed", message)
            yield f"**{UNEXPECTED}**"

    def api_chat(self, message: str) -> str:
        try:
            return plain_answer(self.bot.ask(message))
        except RagError as exc:
            return str(exc)
        except Exception:
            log.exception("answering %r failed", message)
            return UNEXPECTED

    # -- articles ----------------------------------------------------------------------

    def status(self) -> str:
        try:
            store = self.bot.store
        except RagError as exc:
            return escape(str(exc))
        m = store.manifest
        when = datetime.fromtimestamp(m.get("updated", 0)).strftime("%Y-%m-%d %H:%M")
        return (f"**{m['counts']['articles']}** articles, **{m['counts']['chunks']}** chunks, "
                f"updated {when}. Embedder `{m['embedder']['id']}`, "
                f"LLM `{self.bot.settings.model}`.")

    def article_rows(self) -> list[list[str]]:
        try:
            articles = self.bot.store.articles(with_text=False)
        except RagError:
            return []
        return [[a.id, a.title, a.date or ""] for a in articles.values()]

    def article_ids(self) -> list[str]:
        return [row[0] for row in self.article_rows()]

    def upload(self, files, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
        saved, problems = [], []
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
            if size > MAX_UPLOAD_BYTES:
                problems.append(f"{escape(name)}: {size:,} bytes is over the "
                                f"{MAX_UPLOAD_BYTES:,}-byte limit")
                continue
            target = unique_path(self.seeds_dir, name)
            self.seeds_dir.mkdir(parents=True, exist_ok=True)
            target.write_bytes(src.read_bytes())
            saved.append(target.name)
        message = ""
        if saved:
            progress(0.1, desc="Indexing")
            with self.index_lock:
                report = self.bot.index([self.seeds_dir])
            message = (f"Added {', '.join(escape(s) for s in saved)}: "
                       f"{report.added} new, {report.changed} changed articles, "
                       f"{report.chunks_embedded} chunks embedded in {report.seconds:.1f} s.")
            for s in report.skipped:
                problems.append(f"{escape(Path(s.path).name)}: {escape(s.reason)}")
        if problems:
            message += "\n\nNot added:\n" + "\n".join(f"- {p}" for p in problems)
        return self._refreshed(message or "Choose files to upload.")

    def delete(self, article_id):
        if not article_id:
            return self._refreshed("Choose an article to delete.")
        store = self.bot.store
        found = store.articles([article_id], with_text=False).get(article_id)
        if found is None:
            return self._refreshed(f"No article {escape(article_id)}.")
        path = Path(found.path)
        if self.seeds_dir.resolve() not in path.resolve().parents:
            return self._refreshed("Only articles in the seeds folder can be deleted here.")
        path.unlink(missing_ok=True)
        with self.index_lock:
            report = self.bot.index([self.seeds_dir])
        return self._refreshed(f"Deleted {escape(path.name)} ({report.deleted} article).")

    def _refreshed(self, message: str):
        ids = self.article_ids()
        return (message, self.status(), self.article_rows(),
                gr.update(choices=ids, value=None), gr.update(choices=ids))


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


def build(bot: Assistant, seeds_dir: Path) -> gr.Blocks:
    app = ChatApp(bot, seeds_dir)
    with gr.Blocks(title="News Q&A") as demo:
        gr.Markdown("## Ask the articles\nAnswers cite the passages they come from. "
                    "When the articles do not hold the answer, it says so.")
        status = gr.Markdown(app.status())
        with gr.Tab("Chat"):
            with gr.Accordion("Filters", open=False):
                with gr.Row():
                    since = gr.Textbox(label="Since (YYYY-MM-DD)", max_lines=1)
                    until = gr.Textbox(label="Until (YYYY-MM-DD)", max_lines=1)
                    chosen = gr.Dropdown(label="Articles", choices=app.article_ids(),
                                         multiselect=True)
            gr.ChatInterface(
                fn=app.respond, additional_inputs=[since, until, chosen],
                chatbot=gr.Chatbot(height=520, sanitize_html=True, elem_id="chat"),
                examples=[[q] for q in EXAMPLES], cache_examples=False,
                api_name="chat_ui", api_visibility="private", fill_height=True)
        with gr.Tab("Articles"):
            result = gr.Markdown()
            table = gr.Dataframe(value=app.article_rows(), headers=["id", "title", "date"],
                                 interactive=False, label="Indexed articles")
            upload = gr.File(label="Add articles (.txt .md .html .pdf .jsonl)",
                             file_count="multiple", file_types=list(SUPPORTED_SUFFIXES))
            add = gr.Button("Add to the index", variant="primary")
            with gr.Row():
                victim = gr.Dropdown(label="Delete an article", choices=app.article_ids())
                remove = gr.Button("Delete", variant="stop")
        outputs = [result, status, table, victim, chosen]
        add.click(app.upload, inputs=[upload], outputs=outputs, api_visibility="private")
        remove.click(app.delete, inputs=[victim], outputs=outputs, api_visibility="private")
        # The stable API: message in, final answer text with numbered sources out.
        api_in, api_out = gr.Textbox(visible=False), gr.Textbox(visible=False)
        api_in.submit(app.api_chat, api_in, api_out, api_name="chat")
    return demo
