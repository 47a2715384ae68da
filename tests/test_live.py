"""The running app, as users meet it: a real HTTP client and a real browser."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEED, write

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp, *extra):
    seeds = tmp / "seeds"
    write(seeds / SEED.name, SEED.read_bytes())
    port = free_port()
    env = {**os.environ, "RAG_CACHE_DIR": str(tmp / "cache"), "PYTHONUNBUFFERED": "1"}
    log = open(tmp / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--index-dir", str(tmp / "index"),
         "--seeds", str(seeds), "--port", str(port), *extra],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp / "serve.log").read_text()) from None
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("the app did not start:\n" + (tmp / "serve.log").read_text())
    return proc, url, seeds


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


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed "
                    "(the README's test command installs it)")
def test_browser_chat_upload_and_ask(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, seeds, _ = server
    article = write(tmp_path / "upload" / "terminal.txt",
                    "date 2025-06-01 The Rotterdam port authority announced a new container "
                    "terminal called Maasvlakte Three, which will open in 2027.\n")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(url)
        chat = page.locator("#chat")
        box = page.locator("textarea").last
        box.fill("What did Rutte say?")
        box.press("Enter")
        expect(chat).to_contain_text("Sources", timeout=120_000)
        expect(chat).to_contain_text("Russian court")
        expect(chat.locator("mark").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
        if os.environ.get("RAG_SCREENSHOT"):
            shutil.copy(tmp_path / "chat.png", os.environ["RAG_SCREENSHOT"])

        page.get_by_role("tab", name="Articles").click()
        page.locator("input[type=file][accept*='.jsonl']").set_input_files(str(article))
        expect(page.get_by_text("terminal", exact=True)).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Add to the index").click()
        expect(page.get_by_text("Added terminal.txt")).to_be_visible(timeout=120_000)
        assert (seeds / "terminal.txt").exists()

        page.get_by_role("tab", name="Chat").click()
        box = page.locator("textarea").last
        box.fill("What container terminal did the Rotterdam port authority announce?")
        box.press("Enter")
        expect(chat).to_contain_text("Maasvlakte Three", timeout=120_000)
        expect(chat.locator("mark", has_text="Maasvlakte Three").first).to_be_visible(
            timeout=120_000)
        page.screenshot(path=str(tmp_path / "upload.png"), full_page=True)
        browser.close()
