"""The page a person trusts (#29), apart from the browser: questions shown as typed, blank
ones ignored, dates checked, refusals under filters that say so, a near-empty upload's
reason, example questions that are answered, summaries as lists, and one source per
article. (The near-empty rule is tested in test_articles.py, the summary's choice of
sentences in test_shapes.py; the page in a browser in test_live_page.py.)"""


import pytest
from conftest import SEED, FakeEmbedder, ScriptedGenerator, write, write_news

from rag import Assistant, Settings
from rag.ingest.chunking import sentence_spans
from rag.types import Answer, Article, Chunk, Citation, Passage
from ui.app import _typed, filter_problem
from ui.articles import Library
from ui.examples import KINDS
from ui.render import heading, literal, render_answer

NOOP = lambda *a, **k: None  # noqa: E731 - Gradio's progress, unused here


# -- 2, 3: the question as typed; a blank one does nothing ------------------------------

def test_a_question_is_shown_as_typed_and_read_back_as_typed():
    typed = "<b>x</b> <img src=y> **bold** [link](http://a) # 1. - `code` & more?"
    shown = literal(typed)
    assert "<b>" not in shown and "<img" not in shown and "&lt;b&gt;" in shown
    assert "\\*\\*bold\\*\\*" in shown and "\\[link\\]\\(http" in shown
    assert _typed(shown) == typed


def test_a_blank_question_adds_no_bubble_and_no_reply(app):
    for blank in ("", "   ", "\n\t", None):
        box, chat, asked = app.accept(blank, [])
        assert asked is None and box.get("__type__") == "update" and len(box) == 1  # skip
    assert [r.get("__type__") for r in app.reply(None, [])] == ["update"]
    box, chat, asked = app.accept("What did <b>Rutte</b> say?", [])
    assert asked == "What did <b>Rutte</b> say?" and chat[-1]["role"] == "user"
    assert "&lt;b&gt;" in chat[-1]["content"] and box["value"] == ""


def test_the_reply_goes_under_the_question_and_follow_ups_read_what_was_typed(app):
    _, chat, asked = app.accept("What did Lavrov say?", [])
    *_, final = list(app.reply(asked, chat))
    assert [m["role"] for m in final] == ["user", "assistant"]
    assert "Sources" in final[-1]["content"]
    [turn] = app.turns(final)
    assert turn.question == "What did Lavrov say?" and turn.answer.citations


# -- 4: dates that are dates; refusals under filters say so -----------------------------

@pytest.mark.parametrize("since, until, said", [
    ("2025-13-45", "", "Since (YYYY-MM-DD)"),
    ("2025-13-45", "", "no month 13"),
    ("", "2025-02-30", "no day 30 in February 2025"),
    ("", "30/04/2025", "Until (YYYY-MM-DD)"),
    ("2025-05-01", "2025-04-01", "is after"),
])
def test_a_date_that_is_not_a_date_is_named_with_its_field(since, until, said):
    assert said in filter_problem(since, until)


@pytest.mark.parametrize("since, until", [(" 2025-04-01 ", "2025-04-30"), ("", None)])
def test_good_or_empty_dates_are_no_problem(since, until):
    assert filter_problem(since, until) == ""


def test_a_refusal_under_a_filter_names_the_filter(app):
    *_, bad = list(app.respond("What did Rutte say?", [], "2025-13-45", "", []))
    assert bad.startswith("**Filter problem:**") and "no month 13" in bad
    *_, refused = list(app.respond("What did Macron say about the strikes?", [],
                                   "2025-04-01", "2025-04-30", [SEED.stem]))
    assert "couldn" in refused and "Filters are set" in refused
    assert "2025-04-01 to 2025-04-30" in refused and "the 1 chosen article" in refused
    assert "Russia\u2019s Foreign Minister Sergey Lavrov said on Thursday" in refused
    assert "widen or clear the filters" in refused
    *_, plain = list(app.respond("What did Macron say about the strikes?", []))
    assert "couldn" in plain and "Filters are set" not in plain


# -- 5: a near-empty file's reason, on the page ---------------------------------------

def test_an_upload_of_a_title_alone_says_why_it_was_not_added(app, tmp_path):
    library = app.library
    title = write(tmp_path / "upload" / "title.txt", "Just a title\n")
    message = library.upload([str(title)], NOOP)
    assert "Not added" in message and "title.txt: only a title, no body text" in message
    assert "title" not in {a.id for a in app.bot.articles()}


# -- 6: example questions ------------------------------------------------------------

def test_examples_come_from_different_articles_in_different_kinds_and_are_answered(tmp_path):
    seeds = tmp_path / "seeds"
    write(seeds / SEED.name, SEED.read_bytes())
    write_news(seeds, 3, 3)
    bot = Assistant(Settings(index_dir=tmp_path / "index", chunk_tokens=120),
                    embedder=FakeEmbedder(), generator=ScriptedGenerator())
    bot.index([seeds])
    library = Library(bot, seeds)
    snap = library.snapshot()
    assert 3 <= len(snap.examples) <= 5, snap.examples
    answers = [bot.ask(q) for q in snap.examples]
    assert not [q for q, a in zip(snap.examples, answers, strict=True) if a.refused]
    cited = [a.citations[0].article_id for a in answers]
    assert len(set(cited)) == len(cited)  # each from another article
    kinds = {next(k for k, ks in KINDS.items() if a.kind in ks) for a in answers}
    assert len(kinds) >= 2, [a.kind for a in answers]
    assert library.snapshot().examples == snap.examples  # made once per generation


def test_examples_of_one_article_are_of_different_kinds(app):
    examples = app.library.snapshot().examples
    assert "What did Lavrov say?" in examples and len(examples) >= 2
    kinds = [app.bot.ask(q).kind for q in examples]
    assert len({next(k for k, ks in KINDS.items() if kind in ks) for kind in kinds}) == \
        len(examples)


# -- 7, 8: how a summary and its sources look ---------------------------------------------

UNTITLED = ("Russia\u2019s Foreign Minister Sergey Lavrov said on Thursday that Moscow was "
            "ready to reach a\u2026")


def test_an_untitled_article_is_headed_by_its_first_words_or_its_file_name():
    assert heading(UNTITLED) == "Russia\u2019s Foreign Minister Sergey Lavrov said on Thursday"
    assert heading("Harbour strike ends") == "Harbour strike ends"
    assert heading("2025 \u2026", "/news/port_story.txt") == "port_story"


def summary_answer():
    text = ("The port strike began on Monday. Dock workers walked out over pay. "
            "The union said 4,000 members joined. Talks resumed on Wednesday. "
            "Ships waited at anchor. The strike ended on Friday.")
    spans = tuple(sentence_spans(text))
    article = Article("port", "/port.txt", "Port strike", "2025-04-10", None, text)
    # Two passages of one article that overlap (sentences 0-3 and 2-5).
    first = Passage(Chunk(1, "port", 0, 0, spans[3][1], text[:spans[3][1]], spans[:4]),
                    article, 1.0)
    second = Passage(Chunk(2, "port", 1, spans[2][0], len(text), text[spans[2][0]:],
                           spans[2:]), article, 0.9)
    picked = [spans[0], spans[2], spans[5]]
    citations = tuple(Citation(n, "port", "Port strike", "2025-04-10", "/port.txt", s, e,
                               text[s:e]) for n, (s, e) in enumerate(picked, 1))
    body = "\n".join(f"- {c.quote} [{c.n}]" for c in citations)
    return Answer(body, "extractive", citations, (first, second), kind="summary")


def test_a_summary_renders_one_cited_sentence_a_line_and_one_source_per_article():
    answer = summary_answer()
    shown = render_answer(answer)
    before_sources = shown.split("**Sources**")[0]
    assert before_sources.strip().split("\n") == [
        "- The port strike began on Monday. \\[1\\]",
        "- The union said 4,000 members joined. \\[2\\]",
        "- The strike ended on Friday. \\[3\\]"]
    sources = shown.split("**Sources**")[1]
    assert sources.count("Port strike") == 1  # one heading for the article
    assert "**\\[1\\] \\[2\\] \\[3\\] Port strike** (2025-04-10" in sources
    assert sources.count("<mark>") == 3
    for c in answer.citations:
        assert sources.count(c.quote) == 1  # no sentence shown twice
    # Sentences 0-3 hold [1] and [2] and touch; [3]'s stretch (4-5) touches that too.
    assert sources.count("\n> ") == 1 and "Ships waited at anchor." in sources


def test_separate_stretches_of_one_article_stay_under_one_heading():
    text = ". ".join(f"Sentence number {i} of the story" for i in range(10)) + "."
    spans = tuple(sentence_spans(text))
    article = Article("s", "/s.txt", "Story", None, None, text)
    p = Passage(Chunk(1, "s", 0, 0, len(text), text, spans), article, 1.0)
    citations = tuple(Citation(n, "s", "Story", None, "/s.txt", *spans[k], text[slice(*spans[k])])
                      for n, k in ((1, 1), (2, 8)))
    shown = render_answer(Answer("x [1] y [2]", "extractive", citations, (p,)))
    assert shown.count("**\\[1\\] \\[2\\] Story**") == 1 and shown.count("\n> ") == 2
    assert "Sentence number 4" not in shown  # only the sentences around each quote
