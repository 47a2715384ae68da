"""The Gradio chat page: a thin layer over ``rag.Assistant``.

Chat (streamed, cited answers with their sources under them), filters (date range,
articles), and an Articles tab (index status, the article list, upload, and a delete that
names the article and waits for a confirmation). Every list on the page is read from the
live index on page load, after each change, and when a timer sees that another tab or
`rag index` has written a new generation.
The chat is also an API: ``gradio_client.Client(url).predict(message, api_name="/chat")``.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections import OrderedDict
from datetime import date
from pathlib import Path

import gradio as gr

from rag import SUPPORTED_SUFFIXES, Answer, Assistant, Filters, Progress, RagError, Turn

from .articles import Library, Pending
from .render import answer_text, escape, heading, literal, plain_answer, render_answer

log = logging.getLogger(__name__)
#: The status line shown while an answer is being made: apart from the answer, in grey;
#: a refusal's note on the filters set, on a line of its own; a margin around what a
#: click scrolls into view.
CSS = """.status { color: var(--body-text-color-subdued); font-style: italic; }
.filter-note { display: block; margin-top: 0.5em; }
#articles-message, #confirm-box, #question, #filter-message { scroll-margin: 12px; }"""
#: The chat's height: what the window leaves below the page's header and above the
#: question box (at 800x600 both stay in view), between these bounds.
CHAT_HEIGHT = "calc(100vh - 330px)"
CHAT_MIN, CHAT_MAX = 220, 560
#: The date fields of the Filters panel, as they are labelled there.
SINCE, UNTIL = "Since (YYYY-MM-DD)", "Until (YYYY-MM-DD)"

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
                out.append(Turn(_typed(text)))
            elif role == "assistant" and out and not out[-1].answer:
                answer = self._shown.get(text) or _unrendered(text)
                out[-1] = Turn(out[-1].question, answer)
        return out

    @property
    def seeds_dir(self) -> Path:
        return self.library.seeds_dir

    # -- chat --------------------------------------------------------------------------

    def respond(self, message, history, since="", until="", articles=None):
        """The reply to ``message``, as it grows: status lines, the answer's text, then
        the answer with its sources (a refusal under filters names them)."""
        problem = filter_problem(since, until)
        if problem:
            yield f"**Filter problem:** {problem}"
            return
        filters = Filters(since=(since or "").strip() or None,
                          until=(until or "").strip() or None, articles=tuple(articles or ()))
        try:
            shown = ""
            for item in self.bot.stream(message, history=self.turns(history),
                                        filters=filters):
                if isinstance(item, Progress):
                    if not shown:  # a status line, never part of the answer
                        yield f'<span class="status">{escape(item.text)}\u2026</span>'
                elif isinstance(item, str):
                    shown += item
                    yield answer_text(shown)
                else:
                    rendered = render_answer(item, filters, self._names(filters)
                                             if item.refused else None)
                    self._remember(rendered, item)
                    yield rendered
        except RagError as exc:
            yield f"**{escape(str(exc))}**"
        except Exception:  # a bug must cost one reply, not the page; the log has the details
            log.exception("answering %r failed", message)
            yield f"**{UNEXPECTED}**"

    def _names(self, filters: Filters) -> list[str]:
        """How the articles a filter chose are named on the page."""
        try:
            return [heading(a.title, a.path) for a in self.bot.articles(list(filters.articles))]
        except RagError:
            return []

    def accept(self, message, chat):
        """A typed question: its bubble (shown as typed) and the box emptied and held
        until the reply is done; nothing at all for an empty or blank question."""
        if not isinstance(message, str) or not message.strip():
            return gr.skip(), gr.skip(), None
        bubble = {"role": "user", "content": literal(message)}
        return gr.update(value="", interactive=False), [*(chat or []), bubble], message

    def accept_example(self, chat, picked: gr.SelectData):
        """A clicked example question, asked as if typed."""
        return self.accept(picked.value["text"], chat)

    def reply(self, question, chat, since="", until="", articles=None):
        """The reply to the question ``accept`` took, growing under its bubble."""
        if not question:
            yield gr.skip()
            return
        chat = list(chat or [])
        for shown in self.respond(question, chat[:-1], since, until, articles):
            yield [*chat, {"role": "assistant", "content": shown}]

    @staticmethod
    def check_filters(since, until) -> str:
        """The Filters panel's own message: what is wrong with a date, or nothing."""
        problem = filter_problem(since, until)
        return f"**Filter problem:** {problem}" if problem else ""

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


def filter_problem(since, until) -> str:
    """What is wrong with the Filters panel's dates, naming the field, or ""."""
    values = {}
    for name, value in ((SINCE, since), (UNTIL, until)):
        value = (value or "").strip()
        if not value:
            continue
        shown = escape(value)
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
        if not m:
            return (f"{name}: \u201c{shown}\u201d is not a date. Write it as YYYY-MM-DD, "
                    "e.g. 2025-04-30, or leave the field empty.")
        year, month, day = (int(g) for g in m.groups())
        try:
            values[name] = date(year, month, day)
        except ValueError:
            why = f"there is no month {month}" if not 1 <= month <= 12 else \
                f"there is no day {day} in {date(year, month, 1):%B %Y}"
            return (f"{name}: \u201c{shown}\u201d is not a date ({why}). Write it as "
                    "YYYY-MM-DD, e.g. 2025-04-30.")
    if len(values) == 2 and values[SINCE] > values[UNTIL]:
        return (f"{SINCE} ({values[SINCE]}) is after {UNTIL} ({values[UNTIL]}); no article "
                "can be both. Swap them or clear one.")
    return ""


def _typed(text: str) -> str:
    """A question's bubble back to what was typed (``render.literal`` undone)."""
    return html.unescape(re.sub(r"\\(.)", r"\1", text))


def _unrendered(text: str) -> str:
    """The answer part of a rendered reply: no Sources block, no Markdown escapes."""
    text = re.split(r"\n\n\*\*(?:Sources|Closest passages)\*\*", text, maxsplit=1)[0]
    return re.sub(r"\\(.)", r"\1", text.strip().strip("*"))


def reveal(selector: str) -> str:
    """Browser code that scrolls the last element ``selector`` matches into view, when it
    is shown and not in view already, once the page has drawn it."""
    return ("() => { setTimeout(() => { const all = document.querySelectorAll("
            + json.dumps(selector) + "); const e = all[all.length - 1]; "
            "if (e && e.offsetParent !== null) e.scrollIntoView({block: 'nearest'}); }, 80); }")


#: Browser code run when a reply is complete: the chat scrolled to the reply's start (its
#: answer, or a refusal and what it says about the filters, before the sources), and the
#: question box into view. It waits for the chat's own scroll to the bottom (300 ms
#: after a change), which stops following once the chat is scrolled up.
SHOW_REPLY = """() => { setTimeout(() => {
  const bots = document.querySelectorAll('#chat [data-testid="bot"]');
  const last = bots[bots.length - 1];
  let box = last ? last.parentElement : null;
  while (box && !/(auto|scroll)/.test(getComputedStyle(box).overflowY)) box = box.parentElement;
  if (last && box) box.scrollTop += last.getBoundingClientRect().top
      - box.getBoundingClientRect().top - 8;
  const q = document.querySelector('#question');
  if (q) q.scrollIntoView({block: 'nearest'});
}, 500); }"""


def build(bot: Assistant, seeds_dir: Path, writable: bool = True) -> gr.Blocks:
    app = ChatApp(bot, seeds_dir, writable)
    first = app.library.snapshot()
    hidden = {"api_visibility": "private"}
    with gr.Blocks(title="News Q&A") as demo:
        gr.Markdown("## Ask the articles\nAnswers cite the passages they come from. "
                    "When the articles do not hold the answer, it says so.")
        status = gr.Markdown(first.status)
        shown = gr.State(first.generation)
        with gr.Tab("Chat"):
            with gr.Accordion("Filters", open=False):
                with gr.Row():
                    since = gr.Textbox(label=SINCE, max_lines=1, elem_id="since")
                    until = gr.Textbox(label=UNTIL, max_lines=1, elem_id="until")
                    chosen = gr.Dropdown(label="Articles", choices=first.choices, value=[],
                                         multiselect=True)
                filter_message = gr.Markdown(elem_id="filter-message")
            # The chat is wired here rather than by gr.ChatInterface, so that a question
            # is shown exactly as typed, an empty one does nothing, and every example
            # (also those a later upload brings) is asked when clicked.
            chatbot = gr.Chatbot(height=CHAT_HEIGHT, min_height=CHAT_MIN, max_height=CHAT_MAX,
                                 sanitize_html=True, elem_id="chat", show_label=False,
                                 latex_delimiters=[],
                                 examples=[{"text": q} for q in first.examples] or None)
            question = gr.Textbox(show_label=False, elem_id="question", lines=1, max_lines=6,
                                  placeholder="Ask a question about the articles",
                                  submit_btn=True, autofocus=True)
            asked = gr.State(None)
        with gr.Tab("Articles"):
            upload = gr.File(label="Add articles (.txt .md .html .pdf .jsonl)",
                             file_count="multiple", file_types=list(SUPPORTED_SUFFIXES))
            add = gr.Button("Add to the index", variant="primary")
            with gr.Row():
                victim = gr.Dropdown(label="Delete an article", choices=first.choices,
                                     value=None, allow_custom_value=False,
                                     elem_id="delete-choice", scale=3)
                remove = gr.Button("Delete\u2026", variant="stop", scale=1, min_width=120)
            pending = gr.State(None)
            # Right under the button that asks for it, and scrolled into view.
            with gr.Group(visible=False, elem_id="confirm-box") as confirm_box:
                prompt = gr.Markdown(elem_id="confirm-prompt")
                with gr.Row():
                    confirm = gr.Button("Yes, delete it", variant="stop")
                    cancel = gr.Button("Cancel")
            result = gr.Markdown(elem_id="articles-message")
            table = gr.Dataframe(value=first.rows, headers=["id", "title", "date"],
                                 interactive=False, label="Indexed articles")
        views = [result, status, table, victim, chosen, chatbot, shown]
        demo.load(lambda c, v: app.refreshed("", c, v), [chosen, victim], views, **hidden)
        gr.Timer(POLL_SECONDS).tick(app.poll, [shown, chosen, victim], views,
                                    show_progress="hidden", **hidden)

        for asking in (question.submit(app.accept, [question, chatbot],
                                       [question, chatbot, asked], queue=False, **hidden),
                       chatbot.example_select(app.accept_example, [chatbot],
                                              [question, chatbot, asked], queue=False,
                                              **hidden)):
            asking.then(app.reply, [asked, chatbot, since, until, chosen], [chatbot],
                        show_progress="hidden", **hidden) \
                .then(lambda: gr.update(interactive=True), None, question, queue=False,
                      **hidden) \
                .then(None, js=SHOW_REPLY, **hidden)
        for field in (since, until):
            for typed in (field.blur, field.submit):
                typed(app.check_filters, [since, until], filter_message, queue=False,
                      **hidden)

        add.click(app.upload, [upload, chosen, victim], [upload, *views], **hidden) \
            .then(None, js=reveal("#articles-message"), **hidden)
        remove.click(app.ask_delete, [victim], [result, pending, confirm_box, prompt],
                     **hidden).then(None, js=reveal("#confirm-box"), **hidden) \
            .then(None, js=reveal("#articles-message"), **hidden)
        confirm.click(app.confirm_delete, [pending, chosen, victim],
                      [pending, confirm_box, *views], **hidden) \
            .then(None, js=reveal("#articles-message"), **hidden)
        cancel.click(app.cancel_delete, None, [result, pending, confirm_box], **hidden) \
            .then(None, js=reveal("#articles-message"), **hidden)
        # Choosing another article withdraws a question not yet confirmed.
        victim.change(lambda: (None, gr.update(visible=False)), None,
                      [pending, confirm_box], **hidden)
        # The stable API: message in, final answer text with numbered sources out.
        api_in, api_out = gr.Textbox(visible=False), gr.Textbox(visible=False)
        api_in.submit(app.api_chat, api_in, api_out, api_name="chat")
    return demo
