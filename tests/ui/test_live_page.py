"""The chat page as a person meets it (#29): the real app (`rag serve` on the seed article and
a few generated ones) in headless chromium, at 1280x800 and at 800x600. With RAG_SHOTS set
to a folder, each test leaves its screenshots there."""

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import SEED, write, write_news

from rag.testing.server import start_server

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
SIZES = [(1280, 800), (800, 600)]
# Whether an element is fully in view: inside the window and inside every box that scrolls
# it (a message scrolled away inside the chat is not in view).
IN_VIEW = """e => {
  const r = e.getBoundingClientRect();
  if (!r.height || r.top < -1 || r.bottom > window.innerHeight + 1) return false;
  for (let p = e.parentElement; p; p = p.parentElement) {
    if (!/(auto|scroll)/.test(getComputedStyle(p).overflowY)) continue;
    const q = p.getBoundingClientRect();
    if (r.top < q.top - 1 || r.bottom > q.bottom + 1) return false;
  }
  return true;
}"""
REPLY_DONE = re.compile(r"Sources|Closest passages|Filter problem|No article matches")

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian chromium is not installed "
                                    "(the README's test command installs it)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("page")
    proc, url, seeds = start_server(tmp, articles=write_news(tmp / "generated", 3, 3))
    yield url, seeds
    proc.terminate()
    proc.wait(30)


@contextmanager
def browser_page(url, size=(1280, 800)):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.goto(url)
        yield page
        browser.close()


def shot(page, name: str) -> None:
    folder = os.environ.get("RAG_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page.screenshot(path=str(Path(folder) / f"{name}_{size['width']}x{size['height']}.png"))


def in_view(locator) -> bool:
    return locator.evaluate(IN_VIEW)


def ask(page, question: str):
    """Type a question and press Enter; returns the last reply once it is complete."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Chat").click()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    return last_reply(page, expect)


def last_reply(page, expect):
    reply = page.locator('#chat [data-testid="bot"]').last
    expect(reply).to_contain_text(REPLY_DONE, timeout=120_000)
    expect(page.locator("#question textarea")).to_be_enabled()  # the reply is done
    page.wait_for_timeout(1000)  # and the chat scrolled to its start
    return reply


@needs_chromium
def test_browser_every_example_question_is_answered_when_clicked(server):
    """Item 6: three to five examples, from different articles, of different kinds; each
    click asks it and gets an answer with sources, never a refusal."""
    from playwright.sync_api import expect

    url, _ = server
    with browser_page(url) as page:
        examples = page.locator("#chat button.example .example-text")
        expect(examples.first).to_be_visible(timeout=30_000)
        questions = examples.all_inner_texts()
        shot(page, "examples")
    assert 3 <= len(questions) <= 5, questions
    assert any(q.startswith("What did ") for q in questions)
    assert any(q.startswith("Summarise the story") for q in questions)
    assert any(q.startswith(("How many ", "When did ")) for q in questions)
    sources = []
    for question in questions:
        with browser_page(url) as page:
            page.locator("#chat button.example", has_text=question).click()
            reply = last_reply(page, expect)
            assert "couldn't find" not in reply.inner_text(), question
            expect(reply).to_contain_text("Sources")
            expect(page.locator('#chat [data-testid="user"]')).to_have_text(question)
            sources.append(reply.locator("strong").filter(
                has_text=re.compile(r"^\[1\]")).first.inner_text())
    assert len(set(sources)) == len(sources)  # each from another article


@needs_chromium
def test_browser_shows_the_question_as_typed_and_ignores_a_blank_one(server):
    """Items 2 and 3."""
    from playwright.sync_api import expect

    url, _ = server
    with browser_page(url) as page:
        box = page.locator("#question textarea")
        expect(page.locator("#chat button.example").first).to_be_visible(timeout=30_000)
        for blank in ("", "   ", "\n"):
            box.fill(blank)
            box.press("Enter")
        page.wait_for_timeout(1500)
        assert page.locator('#chat [data-testid="user"], #chat [data-testid="bot"]').count() == 0
        expect(page.locator("#chat button.example").first).to_be_visible()  # still empty

        typed = ("<b>x</b> <img src=y> **bold** _it_ [link](http://a.example) # 1. "
                 "What did Rutte say?")
        reply = ask(page, typed)
        bubble = page.locator('#chat [data-testid="user"]').last
        expect(bubble).to_have_text(typed)
        assert bubble.locator("b, img, strong, em, a, h1, ol, li").count() == 0
        assert reply.inner_text()
        shot(page, "typed")


@needs_chromium
def test_browser_summary_is_a_list_across_the_story_with_one_source(server):
    """Items 7 and 8: one cited sentence a line, from the beginning, middle and end of the
    story; its sentences under one source, each highlighted once, headed by a short title."""
    url, _ = server
    text = " ".join(SEED.read_text(encoding="utf-8").split())
    for size in SIZES:
        with browser_page(url, size) as page:
            reply = ask(page, "Summarize the article about Lavrov.")
            assert in_view(reply.locator("li").first)  # the summary, not only its sources
            lines = reply.locator("li").all_inner_texts()
            assert 3 <= len(lines) <= 5 and all(re.search(r"\[\d\]$", x) for x in lines)
            where = [text.index(re.sub(r"\s*\[\d\]$", "", x)) / len(text) for x in lines]
            assert where[0] < 0.05 and max(where) > 0.6, where  # the lede ... the end
            headings = reply.locator("strong").filter(has_text=re.compile(r"^\[1\]"))
            assert headings.count() == 1
            assert headings.first.inner_text() == (
                "[1] [2] [3] [4]"[:4 * len(lines) - 1]
                + " Russia\u2019s Foreign Minister Sergey Lavrov said on Thursday")
            marks = reply.locator("mark").all_inner_texts()
            assert len(marks) == len(lines) == len(set(marks))
            shot(page, "summary")


@needs_chromium
@pytest.mark.parametrize("size", SIZES)
def test_browser_sources_of_one_article_are_one_source(server, size):
    """Item 8: two sentences of one passage cited: one heading, both highlighted."""
    url, _ = server
    with browser_page(url, size) as page:
        reply = ask(page, "What did Rutte say?")
        headings = reply.locator("strong").filter(has_text=re.compile(r"^\[1\]"))
        assert headings.count() == 1 and headings.first.inner_text().startswith("[1] [2] ")
        assert reply.locator("mark").count() == 2
        quoted = reply.locator("blockquote").all_inner_texts()
        assert sum(q.count("The balls are clearly in the Russian court") for q in quoted) == 1
        assert in_view(reply.locator("p").first)  # the answer itself, not only its sources
        shot(page, "answer")


@needs_chromium
@pytest.mark.parametrize("size", SIZES)
def test_browser_a_bad_date_is_named_and_a_refusal_under_filters_says_so(server, size):
    """Item 4 (and 1: both messages are in view)."""
    from playwright.sync_api import expect

    url, _ = server
    with browser_page(url, size) as page:
        page.get_by_text("Filters", exact=True).click()
        since = page.locator("#since input, #since textarea").first
        until = page.locator("#until input, #until textarea").first
        since.fill("2025-13-45")
        since.press("Enter")
        note = page.locator("#filter-message")
        expect(note).to_contain_text("Since (YYYY-MM-DD): \u201c2025-13-45\u201d is not a date")
        assert in_view(note)
        reply = ask(page, "What did Rutte say?")
        expect(reply).to_contain_text("Filter problem")
        expect(reply).to_contain_text("Since (YYYY-MM-DD)")

        since.fill("2025-04-01")
        until.fill("2025-04-30")
        until.press("Enter")
        expect(note).to_have_text("")
        reply = ask(page, "What did Macron say about the strikes?")
        expect(reply).to_contain_text("couldn't find")
        filters_note = reply.locator(".filter-note")
        expect(filters_note).to_contain_text("Filters are set: only articles dated "
                                             "2025-04-01 to 2025-04-30")
        expect(filters_note).to_contain_text("widen or clear the filters")
        assert in_view(filters_note)
        shot(page, "refusal_under_filter")


@needs_chromium
@pytest.mark.parametrize("size", SIZES)
def test_browser_confirmations_are_in_view(server, tmp_path, size):
    """Item 1: the upload's message, the delete's question and "Yes, delete it", and the
    delete's message are in view without scrolling after each click."""
    from playwright.sync_api import expect

    url, seeds = server
    name = f"quay{size[0]}.txt"
    article = write(tmp_path / "upload" / name, f"Quay works {size[0]}\n\ndate 2025-06-05 "
                    "Repairs to the old quay in Hull will start in July, the harbour "
                    "master said on Tuesday.\n")
    with browser_page(url, size) as page:
        page.get_by_role("tab", name="Articles").click()
        message = page.locator("#articles-message")
        page.locator("input[type=file][accept*='.jsonl']").set_input_files(str(article))
        expect(page.get_by_text(article.stem, exact=True)).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Add to the index").click()
        expect(message).to_contain_text(f"Added {name}", timeout=120_000)
        page.wait_for_timeout(400)
        assert in_view(message)

        page.locator("#delete-choice input").click()
        page.get_by_role("option", name=f"Quay works {size[0]}").first.click()
        page.get_by_role("button", name="Delete\u2026").click()
        yes = page.get_by_role("button", name="Yes, delete it")
        expect(yes).to_be_visible()
        page.wait_for_timeout(400)
        assert in_view(yes) and in_view(page.locator("#confirm-prompt"))
        shot(page, "delete_confirmation")
        yes.click()
        expect(message).to_contain_text(f"Deleted Quay works {size[0]}", timeout=60_000)
        page.wait_for_timeout(400)
        assert in_view(message)
    assert not (seeds / name).exists()
