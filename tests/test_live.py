"""The running app, as users meet it: a real HTTP client and a real browser."""

import os
import re
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import SEED, write

from rag.testing.server import start_server

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    proc, url, seeds = start_server(tmp)
    yield url, seeds, tmp
    proc.terminate()
    proc.wait(30)


def test_auth_is_enforced_when_given(tmp_path):
    from gradio_client import Client

    proc, url, _ = start_server(tmp_path, "--auth", "alice:s3cret")
    try:
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do; no answer leaks
            Client(url, verbose=False).predict("What did Rutte say?", api_name="/chat")
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("alice", "wrong"), verbose=False)
        client = Client(url, auth=("alice", "s3cret"), verbose=False)
        assert "Russian court" in client.predict("What did Rutte say?", api_name="/chat")
    finally:
        proc.terminate()
        proc.wait(30)


def test_gradio_client_answers_and_refuses(server):
    from gradio_client import Client

    url, _, _ = server
    client = Client(url, verbose=False)
    answer = client.predict("What did Rutte say?", api_name="/chat")
    assert "Russian court" in answer
    assert f"{SEED.stem}:" in answer and "(2025-04-25)" in answer  # numbered source line
    refusal = client.predict("What did Macron say about the strikes?", api_name="/chat")
    assert refusal.startswith("I couldn't find that in the articles")


def test_concurrent_sessions_all_get_their_answers(server):
    """Several clients at once: retrieval runs side by side, the model one call at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    url, _, _ = server
    questions = ["What did Rutte say?", "When did Moscow annex Crimea?",
                 "Who is Trump's envoy due in Russia on Friday?", "What did Rutte say?"]
    expected = ["Russian court", "2014", "Witkoff", "Russian court"]

    def ask(q):
        return Client(url, verbose=False).predict(q, api_name="/chat")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, questions))
    for answer, want in zip(answers, expected, strict=True):
        assert want in answer


def test_app_binds_to_localhost_only(server):
    url, _, _ = server
    port = int(url.rsplit(":", 1)[1].strip("/"))
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None)
                 if a[0] == socket.AF_INET} - {"127.0.0.1"}
    for address in addresses:
        with pytest.raises(OSError):
            socket.create_connection((address, port), timeout=2).close()


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian chromium is not installed "
                                    "(the README's test command installs it)")


@contextmanager
def browser_page(url):
    """A headless chromium page on the app."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(url)
        yield page
        browser.close()


def upload(page, article: Path) -> None:
    """Add a file on the Articles tab, as a user does, and wait for it to be indexed."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Articles").click()
    page.locator("input[type=file][accept*='.jsonl']").set_input_files(str(article))
    expect(page.get_by_text(article.stem, exact=True)).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Add to the index").click()
    expect(page.get_by_text(f"Added {article.name}")).to_be_visible(timeout=120_000)


def ask(page, question: str):
    """Type a question on the Chat tab; returns the chat locator."""
    page.get_by_role("tab", name="Chat").click()
    box = page.locator("textarea").last
    box.fill(question)
    box.press("Enter")
    return page.locator("#chat")


@needs_chromium
def test_browser_chat_upload_and_ask(server, tmp_path):
    from playwright.sync_api import expect

    url, seeds, _ = server
    article = write(tmp_path / "upload" / "terminal.txt",
                    "date 2025-06-01 The Rotterdam port authority announced a new container "
                    "terminal called Maasvlakte Three, which will open in 2027.\n")
    with browser_page(url) as page:
        chat = ask(page, "What did Rutte say?")
        expect(chat).to_contain_text("Sources", timeout=120_000)
        expect(chat).to_contain_text("Russian court")
        expect(chat.locator("mark").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        if os.environ.get("RAG_SCREENSHOT"):
            shutil.copy(tmp_path / "chat.png", os.environ["RAG_SCREENSHOT"])

        upload(page, article)
        assert (seeds / "terminal.txt").exists()

        chat = ask(page, "What container terminal did the Rotterdam port authority announce?")
        expect(chat).to_contain_text("Maasvlakte Three", timeout=120_000)
        expect(chat.locator("mark", has_text="Maasvlakte Three").first).to_be_visible(
            timeout=120_000)
        page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)


# Records the text of the last answer on the page at every change, leaving status lines
# out (they say what the assistant is doing and are not part of the answer).
WATCH_ANSWER = """() => {
  window.__shown = [];
  const grab = () => {
    const bots = document.querySelectorAll('#chat [data-testid="bot"]');
    if (!bots.length) return;
    const copy = bots[bots.length - 1].cloneNode(true);
    copy.querySelectorAll('.status').forEach(e => e.remove());
    const text = copy.innerText.replace(/\\s+/g, ' ').trim();
    if (text && window.__shown[window.__shown.length - 1] !== text) window.__shown.push(text);
  };
  new MutationObserver(grab).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


@needs_chromium
@pytest.mark.parametrize("question, wanted", [
    ("What did Lavrov say about which targets Russia attacks?", "military"),
    ("Summarize the article about Lavrov.", "Lavrov"),
    ("What did Macron say about the strikes?", "couldn't find"),
])
def test_text_shown_while_answering_is_never_taken_back(server, question, wanted):
    from playwright.sync_api import expect

    url, _, _ = server
    with browser_page(url) as page:
        page.evaluate(WATCH_ANSWER)
        chat = ask(page, question)
        # The reply itself: the chat's example questions may hold the same words.
        expect(chat.locator('[data-testid="bot"]').last).to_contain_text(wanted,
                                                                         timeout=120_000)
        page.wait_for_timeout(1500)  # let the last update land
        shown = page.evaluate("window.__shown")
    assert shown, "nothing was recorded"
    final = shown[-1]
    for earlier in shown[:-1]:
        assert final.startswith(earlier), f"{earlier!r} was taken back for {final!r}"
    answer = re.split(r"Sources|Closest passages", final)[0]
    assert "\u2026" not in answer  # no status line or cut-off mark left in the answer


@needs_chromium
def test_markup_in_an_article_is_shown_as_text_and_never_runs(server, tmp_path):
    """An article carrying HTML, script and Markdown: the page shows it as text."""
    from playwright.sync_api import expect

    url, seeds, _ = server
    article = write(tmp_path / "upload" / "alarm.txt",
                    "Harbour alarm <img src=x onerror=\"window.__pwned=1\">\n\n"
                    "date 2025-06-02 The harbour alarm sounded at noon in Antwerp "
                    "<script>window.__pwned=2</script> and [click here](javascript:"
                    "window.__pwned=3) <b>bold</b> to learn more.\n")
    with browser_page(url) as page:
        upload(page, article)
        chat = ask(page, "When did the harbour alarm sound in Antwerp?")
        expect(chat).to_contain_text("Sources", timeout=120_000)
        expect(chat).to_contain_text("<script>window.__pwned=2</script>")  # shown, as text
        expect(chat).to_contain_text("[click here]")
        assert chat.locator("script, img[src=x], a[href^=javascript], b").count() == 0
        page.get_by_role("tab", name="Articles").click()  # the title in the article list
        expect(page.get_by_role("tabpanel").get_by_text("onerror").first).to_be_visible()
        assert page.locator("img[src=x]").count() == 0
        assert page.evaluate("window.__pwned") is None
    assert (seeds / "alarm.txt").exists()


# -- the Articles tab, as a person uses it --------------------------------------------------

def articles_tab(page):
    page.get_by_role("tab", name="Articles").click()
    return page.locator("#articles-message")


def choose(page, label: str) -> None:
    """Pick an article in the Delete list by (part of) its label, as a person does."""
    page.locator("#delete-choice input").click()
    page.get_by_role("option", name=label).first.click()


def indexed_ids(tmp) -> set[str]:
    from rag.stores.opening import open_store

    return set(open_store(tmp / "index").articles(with_text=False))


def indexed_paths(tmp) -> set[str]:
    from rag.stores.opening import open_store

    return {a.path for a in open_store(tmp / "index").articles(with_text=False).values()}


def index_check(tmp) -> list[str]:
    from rag.stores.opening import open_store

    return open_store(tmp / "index").check()


@needs_chromium
def test_browser_delete_needs_a_choice_and_a_confirmation(server, tmp_path):
    from playwright.sync_api import expect

    url, seeds, tmp = server
    ferry = write(tmp_path / "upload" / "ferry.txt",
                  "Ferry to Hull\n\ndate 2025-06-03 The new ferry to Hull starts in May, the "
                  "operator said.\n")
    with browser_page(url) as page:
        message = articles_tab(page)
        # A fresh page has nothing chosen: Delete deletes nothing.
        page.get_by_role("button", name="Delete\u2026").click()
        expect(message).to_contain_text("Choose an article from the list first")
        assert (seeds / SEED.name).exists() and SEED.stem in indexed_ids(tmp)

        upload(page, ferry)
        # The upload box is cleared: a second click adds nothing.
        expect(page.get_by_text("ferry.txt", exact=True)).to_have_count(0)
        page.get_by_role("button", name="Add to the index").click()
        expect(message).to_contain_text("Choose files to upload first")
        # The same file again is recognised by its content.
        page.locator("input[type=file][accept*='.jsonl']").set_input_files(str(ferry))
        page.get_by_role("button", name="Add to the index").click()
        expect(message).to_contain_text("ferry.txt is already there as ferry.txt")
        assert not (seeds / "ferry (2).txt").exists()

        # A typed id that is not an article is not taken.
        page.locator("#delete-choice input").fill("ferry (2)")
        page.locator("#delete-choice input").press("Enter")
        page.get_by_role("button", name="Delete\u2026").click()
        expect(message).to_contain_text("nothing was deleted")

        # Choose, then cancel: nothing goes.
        choose(page, "Ferry to Hull")
        page.get_by_role("button", name="Delete\u2026").click()
        confirm = page.locator("#confirm-prompt")
        expect(confirm).to_contain_text("Ferry to Hull")
        expect(confirm).to_contain_text("ferry.txt")
        page.get_by_role("button", name="Cancel").click()
        expect(message).to_contain_text("Nothing was deleted")
        assert (seeds / "ferry.txt").exists() and "ferry" in indexed_ids(tmp)

        # Choose, confirm: exactly that file and its chunks go.
        others = {p.name for p in seeds.iterdir()} - {"ferry.txt"}
        page.get_by_role("button", name="Delete\u2026").click()
        page.get_by_role("button", name="Yes, delete it").click()
        expect(message).to_contain_text("Deleted Ferry to Hull")
        assert {p.name for p in seeds.iterdir()} == others
        assert "ferry" not in indexed_ids(tmp) and index_check(tmp) == []

        # A reload shows the index as it is.
        page.reload()
        articles_tab(page)
        expect(page.locator("body")).to_contain_text(f"{len(indexed_ids(tmp))} articles")
        assert page.get_by_role("gridcell", name="ferry", exact=True).count() == 0
        page.locator("#delete-choice input").click()
        expect(page.get_by_role("option", name="Ferry to Hull")).to_have_count(0)


@needs_chromium
def test_browser_shows_what_rag_index_did_in_a_shell(server, tmp_path):
    """A change made outside the page appears without a reload."""
    import subprocess
    import sys

    from conftest import ROOT
    from playwright.sync_api import expect

    url, seeds, tmp = server
    with browser_page(url) as page:
        articles_tab(page)
        write(seeds / "shell.txt", "Tram news\n\ndate 2025-06-04 A tram line to the port "
              "opens in June, the council said.\n")
        subprocess.run([sys.executable, "-m", "rag.serve.cli", "index", str(seeds), "--index-dir",
                        str(tmp / "index")], cwd=ROOT, check=True, capture_output=True,
                       env={**os.environ, "RAG_CACHE_DIR": str(tmp / "cache")})
        expect(page.get_by_role("gridcell", name="Tram news")).to_be_visible(timeout=20_000)
        expect(page.locator("body")).to_contain_text(f"{len(indexed_ids(tmp))} articles")


@needs_chromium
def test_browser_random_clicks_never_delete_an_unconfirmed_article(server, tmp_path):
    """Random clicks on the Articles tab's controls for a while; then every file on disk is
    indexed, and every file that went was named by a confirmation that was clicked."""
    import random

    url, seeds, tmp = server
    rng = random.Random(11)
    confirmed: set[str] = set()
    files = [write(tmp_path / "upload" / f"r{i}.txt", f"Random story {i}\n\ndate 2025-06-1{i} "
                   f"The harbour in town {i} reopened, the mayor said.\n") for i in range(4)]
    with browser_page(url) as page:
        articles_tab(page)
        before = {p.name for p in seeds.iterdir()}
        for _ in range(40):
            action = rng.choices(["choose", "ask", "yes", "cancel", "upload", "add", "reload"],
                                 weights=[3, 3, 3, 1, 2, 2, 1])[0]
            if action == "choose":
                page.locator("#delete-choice input").click()
                options = page.get_by_role("option")
                if options.count():
                    options.nth(rng.randrange(options.count())).click()
                else:
                    page.keyboard.press("Escape")
            elif action == "ask":
                page.get_by_role("button", name="Delete\u2026").click()
            elif action == "yes":
                yes = page.get_by_role("button", name="Yes, delete it")
                if yes.is_visible():
                    prompt = page.locator("#confirm-prompt").inner_text()
                    named = prompt.split("file \u201c", 1)[1].split("\u201d", 1)[0]
                    yes.click()
                    confirmed.add(named)
                    # On a loaded machine the delete may take longer than the pause.
                    yes.wait_for(state="hidden", timeout=30000)
            elif action == "cancel":
                if page.get_by_role("button", name="Cancel").is_visible():
                    page.get_by_role("button", name="Cancel").click()
            elif action == "upload":
                page.locator("input[type=file][accept*='.jsonl']").set_input_files(
                    str(rng.choice(files)))
            elif action == "add":
                page.get_by_role("button", name="Add to the index").click()
            elif action == "reload":
                page.reload()
                articles_tab(page)
            page.wait_for_timeout(700)
        # Let the last click's work finish: the index catches up with the folder (a
        # loaded machine may need more than a few seconds).
        for _ in range(60):
            page.wait_for_timeout(500)
            after = {p.name for p in seeds.iterdir()}
            if {str((seeds / n).resolve()) for n in after} == indexed_paths(tmp):
                break
    after = {p.name for p in seeds.iterdir()}
    assert confirmed and before - after <= confirmed  # some deletes were confirmed
    assert {str((seeds / n).resolve()) for n in after} == indexed_paths(tmp)
    assert index_check(tmp) == []
