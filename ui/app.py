"""The Gradio chat page: a thin layer over ``rag.Assistant``.

Chat (streamed, cited answers with their sources under them), filters (date range,
articles), and an Articles tab (index status, the article list, upload, and a delete that
names the article and waits for a confirmation). Every list on the page is read from the
live index on page load, after each change, and when a timer sees that another tab or
`rag index` has written a new generation.
The chat is also an API: ``gradio_client.Client(url).predict(message, api_name="/chat")``.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from pathlib import Path

import gradio as gr

from rag import Assistant, RagError
from rag.config import SUPPORTED_SUFFIXES
from rag.types import Answer, Filters, Progress, Turn

from .articles import Library, Pending
from .render import escape, plain_answer, render_answer

log = logging.getLogger(__name__)
#: The status line shown while an answer is being made: apart from the answer, in grey.
CSS = ".status { color: var(--body-text-color-subdued); font-style: italic; }"

UNEXPECTED = ("Something went wrong while answering that (the server log has the details). "
              "Please try again.")
#: Seconds between checks for a new index generation written elsewhere.
POLL_SECONDS = 5.0


class ChatApp:
    """Owns the Assistant (answers) and the Library (the seeds folder and its index)."""

    def __init__(self, bot: Assistant, seeds_dir: Path, writable: bool = True):
        self.bot = bot
        self.library = Library(bot, seeds_dir, writable)
        self._shown: OrderedDict[str, Answer] = OrderedDict()  # rendered text -> Answer

    def _remember(self, rendered: str, answer: Answer) -> None:
        self._shown[rendered] = answer
        while len(self._shown) > 2000:
            self._shown.popitem(last=False)

    def turns(self, history) -> list[Turn]:
        """Gradio's chat history as the library's ``Turn``s: an answer this page rendered
        is the ``Answer`` itself, so a follow-up here sees what it sees through ``ask()``;
        one rendered by an earlier server loses its Sources block."""
        out: list[Turn] = []
        for message in history or []:
            text = _content_text(message.get("content") if isinstance(message, dict)
                                 else None)
            role = message.get("role") if isinstance(message, dict) else None
            if role == "user" and text:
                out.append(Turn(text))
            elif role == "assistant" and out and not out[-1].answer:
                answer = self._shown.get(text) or _unrendered(text)
                out[-1] = Turn(out[-1].question, answer)
        return out

    @property
    def seeds_dir(self) -> Path:
        return self.library.seeds_dir

    # -- chat --------------------------------------------------------------------------

    def respond(self, message, history, since="", until="", articles=None):
        try:
            filters = Filters(since=since or None, until=until or None,
                              articles=tuple(articles or ()))
        except ValueError as exc:
            yield f"**Filter problem:** {escape(str(exc))}"
            return
        try:
            shown = ""
            for item in self.bot.stream(message, history=self.turns(history),
                                        filters=filters):
                if isinstance(item, Progress):
                    if not shown:  # a status line, never part of the answer
                        yield f'<span class="status">{escape(item.text)}\u2026</span>'
                elif isinstance(item, str):
                    shown += item
                    yield escape(shown)
                else:
                    rendered = render_answer(item)
                    self._remember(rendered, item)
                    yield rendered
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

    # -- the page's view of the index ----------------------------------------------------

    def refreshed(self, message, chosen=None, victim=None):
        """Every output that shows the index, read anew: (message, status, table, Delete
        list, Filters list, examples, generation shown)."""
        snap = self.library.snapshot()
        ids = {value for _, value in snap.choices}
        kept = [a for a in (chosen or []) if a in ids]
        examples = [{"text": q} for q in snap.examples] or None
        return (message, snap.status, snap.rows,
                gr.update(choices=snap.choices, value=victim if victim in ids else None),
                gr.update(choices=snap.choices, value=kept),
                gr.update(examples=examples), snap.generation)

    def poll(self, shown: str, chosen, victim):
        """Refresh only when the live generation is not the one the page shows."""
        try:
            live = self.bot.status().generation
        except RagError:
            live = ""
        if live == shown:
            return (gr.skip(),) * 7
        return self.refreshed(gr.skip(), chosen, victim)

    # -- the Articles tab ---------------------------------------------------------------

    def upload(self, files, chosen, victim, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
        message = self.library.upload(files, progress)
        return (None, *self.refreshed(message, chosen, victim))

    def ask_delete(self, victim):
        prompt, pending = self.library.ask_delete(victim)
        if pending is None:
            return prompt, None, gr.update(visible=False), ""
        return "", pending, gr.update(visible=True), prompt

    def confirm_delete(self, pending: Pending | None, chosen, victim):
        message = self.library.confirm_delete(pending, victim)
        return (None, gr.update(visible=False), *self.refreshed(message, chosen, None))

    @staticmethod
    def cancel_delete():
        return "Nothing was deleted.", None, gr.update(visible=False)


def _content_text(content) -> str:
    """A chat message's text: a string, or Gradio's list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return ""


def _unrendered(text: str) -> str:
    """The answer part of a rendered reply: no Sources block, no Markdown escapes."""
    text = re.split(r"\n\n\*\*(?:Sources|Closest passages)\*\*", text, maxsplit=1)[0]
    return re.sub(r"\\(.)", r"\1", text.strip().strip("*"))


def example_text(picked: gr.SelectData) -> str:
    """The question of a clicked example."""
    return picked.value["text"]


def build(bot: Assistant, seeds_dir: Path, writable: bool = True) -> gr.Blocks:
    app = ChatApp(bot, seeds_dir, writable)
    first = app.library.snapshot()
    with gr.Blocks(title="News Q&A") as demo:
        gr.Markdown("## Ask the articles\nAnswers cite the passages they come from. "
                    "When the articles do not hold the answer, it says so.")
        status = gr.Markdown(first.status)
        shown = gr.State(first.generation)
        with gr.Tab("Chat"):
            with gr.Accordion("Filters", open=False):
                with gr.Row():
                    since = gr.Textbox(label="Since (YYYY-MM-DD)", max_lines=1)
                    until = gr.Textbox(label="Until (YYYY-MM-DD)", max_lines=1)
                    chosen = gr.Dropdown(label="Articles", choices=first.choices, value=[],
                                         multiselect=True)
            chatbot = gr.Chatbot(height=520, sanitize_html=True, elem_id="chat",
                                 show_label=False)
            chat = gr.ChatInterface(
                fn=app.respond, additional_inputs=[since, until, chosen], chatbot=chatbot,
                examples=[[q] for q in first.examples] or None, cache_examples=False,
                api_name="chat_ui", api_visibility="private", fill_height=True)
            if not first.examples:
                # ChatInterface wires example clicks only when it starts with examples; the
                # ones an upload brings later fill the question box instead.
                chatbot.example_select(example_text, None, chat.textbox,
                                       api_visibility="private")
        with gr.Tab("Articles"):
            result = gr.Markdown(elem_id="articles-message")
            table = gr.Dataframe(value=first.rows, headers=["id", "title", "date"],
                                 interactive=False, label="Indexed articles")
            upload = gr.File(label="Add articles (.txt .md .html .pdf .jsonl)",
                             file_count="multiple", file_types=list(SUPPORTED_SUFFIXES))
            add = gr.Button("Add to the index", variant="primary")
            with gr.Row():
                victim = gr.Dropdown(label="Delete an article", choices=first.choices,
                                     value=None, allow_custom_value=False,
                                     elem_id="delete-choice")
                remove = gr.Button("Delete\u2026", variant="stop")
            pending = gr.State(None)
            with gr.Group(visible=False) as confirm_box:
                prompt = gr.Markdown(elem_id="confirm-prompt")
                with gr.Row():
                    confirm = gr.Button("Yes, delete it", variant="stop")
                    cancel = gr.Button("Cancel")
        views = [result, status, table, victim, chosen, chatbot, shown]
        hidden = {"api_visibility": "private"}
        demo.load(lambda c, v: app.refreshed("", c, v), [chosen, victim], views, **hidden)
        gr.Timer(POLL_SECONDS).tick(app.poll, [shown, chosen, victim], views,
                                    show_progress="hidden", **hidden)
        add.click(app.upload, [upload, chosen, victim], [upload, *views], **hidden)
        remove.click(app.ask_delete, [victim], [result, pending, confirm_box, prompt],
                     **hidden)
        confirm.click(app.confirm_delete, [pending, chosen, victim],
                      [pending, confirm_box, *views], **hidden)
        cancel.click(app.cancel_delete, None, [result, pending, confirm_box], **hidden)
        # Choosing another article withdraws a question not yet confirmed.
        victim.change(lambda: (None, gr.update(visible=False)), None,
                      [pending, confirm_box], **hidden)
        # The stable API: message in, final answer text with numbered sources out.
        api_in, api_out = gr.Textbox(visible=False), gr.Textbox(visible=False)
        api_in.submit(app.api_chat, api_in, api_out, api_name="chat")
    return demo
