"""The generator on an OpenAI-compatible model server: a real `python -m llama_cpp.server`
with the bundled Gemma file, and servers that are down, slow or broken."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import SEED, write

from rag.answer.generation import STOP, LlamaGenerator, resolve_model
from rag.answer.model_servers import OpenAIGenerator, chat_tuned
from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import ModelServerDown, ModelServerReply, ModelServerTimeout
from rag.testing.server import free_port, start_model_server, stop

pytestmark = pytest.mark.slow

# A question for the model (not a who / when / where / how many / quote question, which
# are answered from the text without it).
FOR_THE_MODEL = "What is Witkoff expected to do in Russia?"


@pytest.fixture(scope="module")
def gemma(tmp_path_factory):
    return resolve_model("gemma3-270m", tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def model_server(gemma, tmp_path_factory):
    log = tmp_path_factory.mktemp("llm") / "server.log"
    proc, url = start_model_server(gemma, log)
    yield url, log
    stop(proc)


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory):
    from rag.index.embedding import make_embedder

    tmp = tmp_path_factory.mktemp("seed")
    write(tmp / "seeds" / SEED.name, SEED.read_bytes())
    embedder = make_embedder("bundled", 16)
    settings = Settings(index_dir=tmp / "index", cache_dir=tmp / "cache")
    Assistant(settings, embedder=embedder).index([tmp / "seeds"])
    return settings, embedder


def remote_bot(seed_index, *urls, **changes) -> Assistant:
    settings, embedder = seed_index
    return Assistant(settings.with_(llm_urls=urls, **changes), embedder=embedder)


def test_the_server_drafts_exactly_what_the_in_process_model_drafts(model_server, gemma,
                                                                   seed_index):
    url, _ = model_server
    settings, embedder = seed_index
    local = Assistant(settings, embedder=embedder, generator=LlamaGenerator(
        str(gemma), settings.cache_dir))
    remote = remote_bot(seed_index, url)
    answerer = local.answerer()
    asked, query = answerer.read(FOR_THE_MODEL, [])
    prompt = answerer.prompt(answerer.ground(FOR_THE_MODEL, [], None, query))
    assert remote.answerer().prompt(answerer.ground(FOR_THE_MODEL, [], None, query)) == prompt
    here = "".join(local.generator.stream(prompt, 96, STOP))
    there = "".join(remote.generator.stream(prompt, 96, STOP))
    assert here.strip() and there == here
    # The server's own tokenizer counts the prompt (it adds the BOS token the local count
    # leaves out).
    assert remote.generator.count_tokens(prompt) - local.generator.count_tokens(prompt) in (0, 1)


def test_answers_through_the_server_are_checked_like_local_ones(model_server, seed_index):
    url, log = model_server
    bot = remote_bot(seed_index, url)
    answer = bot.ask(FOR_THE_MODEL)
    assert bot.generator.name == "gemma3-270m"  # asked of the server's /v1/models
    assert answer.mode in ("generated", "extractive") and answer.citations
    assert not answer.notice
    article = bot.articles(with_text=True)[0]
    for c in answer.citations:
        assert article.text[c.start:c.end] == c.quote
    assert "POST /v1/completions" in log.read_text()  # the model was asked, over HTTP
    assert bot.ask("What is the capital of Peru?").refused


def test_a_pool_goes_round_robin_and_skips_a_server_that_refuses(model_server, gemma, seed_index,
                                                                 tmp_path):
    url, log = model_server
    dead = f"http://127.0.0.1:{free_port()}/v1"
    bot = remote_bot(seed_index, dead, url)
    before = log.read_text().count("POST /v1/completions")
    for _ in range(3):
        answer = bot.ask(FOR_THE_MODEL)
        assert answer.citations and not answer.notice
    assert log.read_text().count("POST /v1/completions") == before + 3
    # Two live servers: the requests alternate.
    second_log = tmp_path / "second.log"
    proc, second = start_model_server(gemma,
                                      second_log, threads=1)
    try:
        gen = OpenAIGenerator([url, second], "gemma3-270m", settings=Settings())
        before = log.read_text().count("POST /v1/completions")
        for _ in range(4):
            assert "".join(gen.stream("Question: What is 2 and 2?\nAnswer:", 4, STOP))
        assert log.read_text().count("POST /v1/completions") == before + 2
        assert second_log.read_text().count("POST /v1/completions") == 2
    finally:
        stop(proc)


def test_a_server_that_is_down_costs_the_wording_not_the_answer(seed_index):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    bot = remote_bot(seed_index, dead, llm_model="gemma3-270m")
    answer = bot.ask(FOR_THE_MODEL)
    assert answer.mode == "extractive" and answer.citations
    assert answer.fault == "ModelServerDown"
    assert dead in answer.notice and "quotes the articles" in answer.notice
    with pytest.raises(ModelServerDown, match="refused the connection"):
        list(bot.generator.stream("x", 4, STOP))
    assert dead in bot.generator.prepare()
    unnamed = OpenAIGenerator([dead])  # rag serve starts anyway, and names it later
    assert unnamed.name == "the served model" and dead in unnamed.prepare()
    # Questions answered from the text alone never need the server.
    who = bot.ask("Who is Trump's envoy due in Russia on Friday?")
    assert "Witkoff" in who.text and not who.notice


class _Broken(BaseHTTPRequestHandler):
    """A model server gone wrong, in the way ``self.server.mode`` says."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - the http.server API
        self._json(200, {"object": "list", "data": [{"id": "broken", "object": "model"}]})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        mode = self.server.mode
        self.server.bodies.append(body)
        if mode == "slow":
            time.sleep(5)
            return self._json(200, {})
        if mode == "garbage":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>Bad gateway, try later</html>")
            return None
        if mode == "error":
            return self._json(500, {"error": {"message": "out of memory"}})
        if mode == "strict" and ("repeat_penalty" in body or "top_k" in body):
            return self._json(400, {"error": {"message": "Unrecognized request arguments "
                                              "supplied: repeat_penalty, top_k"}})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = [(" Russia wants", None), (" a deal.", "stop")]
        if mode == "cut":  # as llama_cpp.server ends an answer another request interrupts
            pieces = pieces[:1]
        for piece, finish in pieces:
            chunk = {"choices": [{"index": 0, "text": piece, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        return None

    def _json(self, status, data):
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def broken():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    server.daemon_threads, server.block_on_close = True, False
    server.mode, server.bodies = "ok", []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode, error, words", [
    ("slow", ModelServerTimeout, "did not answer within 1 s"),
    ("garbage", ModelServerReply, "not a completion stream"),
    ("error", ModelServerReply, "answered 500"),
    ("cut", ModelServerReply, "stopped before the answer was finished"),
])
def test_slow_and_broken_servers_give_a_clear_message_and_a_quoted_answer(
        broken, seed_index, mode, error, words):
    server, url = broken
    server.mode = mode
    gen = OpenAIGenerator([url], settings=Settings(llm_timeout=1))
    with pytest.raises(error, match=words) as caught:
        list(gen.stream("prompt", 8, STOP))
    assert url in str(caught.value)
    bot = remote_bot(seed_index, url, llm_timeout=1)
    began = time.perf_counter()
    answer = bot.ask(FOR_THE_MODEL)
    assert time.perf_counter() - began < 8
    assert answer.mode == "extractive" and answer.citations and url in answer.notice
    assert answer.fault == error.__name__


def test_sampling_options_the_server_refuses_are_left_out(broken):
    server, url = broken
    server.mode = "strict"
    gen = OpenAIGenerator([url], settings=Settings())
    assert "".join(gen.stream("prompt", 8, STOP)) == " Russia wants a deal."
    assert "repeat_penalty" in server.bodies[0] and "repeat_penalty" not in server.bodies[1]
    assert "".join(gen.stream("prompt", 8, STOP)) == " Russia wants a deal."
    assert len(server.bodies) == 3  # remembered: asked once, without them
    # No tokenizer endpoint there: a conservative estimate (never fewer tokens than words).
    text = "Mr Witkoff met Putin in St Petersburg on 11 April 2025."
    assert gen.count_tokens(text) >= len(text.split()) + 4


def test_the_key_is_sent_and_chat_models_get_the_chat_endpoint(broken, monkeypatch):
    server, url = broken
    seen = []
    original = _Broken.do_POST

    def recording(self):
        seen.append((self.path, self.headers.get("Authorization")))
        return original(self)

    monkeypatch.setattr(_Broken, "do_POST", recording)
    gen = OpenAIGenerator([url], "llama-3.2-1b-instruct", api_key="k3y", settings=Settings())
    list(gen.stream("prompt", 8, STOP))
    assert seen[-1] == ("/v1/chat/completions", "Bearer k3y")
    assert server.bodies[-1]["messages"] == [{"role": "user", "content": "prompt"}]
    assert chat_tuned("gemma-3-1b-it") and not chat_tuned("gemma3-270m")
    base = OpenAIGenerator([url], "gemma3-270m", settings=Settings(llm_api="auto"))
    list(base.stream("prompt", 8, STOP))
    assert seen[-1][0] == "/v1/completions" and server.bodies[-1]["prompt"] == "prompt"


def test_settings_read_a_comma_separated_pool_from_the_environment(monkeypatch):
    monkeypatch.setenv("RAG_LLM_URL", "http://a:8000/v1, http://b:8000/v1")
    assert Settings.from_env().llm_urls == ("http://a:8000/v1", "http://b:8000/v1")
    with pytest.raises(ValueError, match="not an http"):
        Settings(llm_urls=("a:8000",))
    with pytest.raises(ValueError, match="llm_api"):
        Settings(llm_api="grpc")


def test_rag_ask_with_a_server_that_is_down_says_so_and_still_answers(seed_index):
    from click.testing import CliRunner

    from rag.serve.cli import cli

    settings, _ = seed_index
    dead = f"http://127.0.0.1:{free_port()}/v1"
    done = CliRunner().invoke(cli, ["ask", FOR_THE_MODEL, "--index-dir", str(settings.index_dir),
                                    "--llm-url", dead, "--model", "gemma3-270m"])
    assert done.exit_code == 0, done.output
    assert "[1]" in done.stdout and "Sources:" in done.stdout
    assert f"Note: The model server is down: {dead}" in done.stderr
    assert done.exception is None


def test_a_url_that_is_not_http_is_a_one_line_error(seed_index, monkeypatch):
    from click.testing import CliRunner

    from rag.serve.cli import cli

    settings, _ = seed_index
    done = CliRunner().invoke(cli, ["ask", "What did Rutte say?", "--index-dir",
                                    str(settings.index_dir), "--llm-url", "localhost:8000"])
    assert done.exit_code == 2 and "'localhost:8000' is not an http(s) URL" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    monkeypatch.setenv("RAG_LLM_URL", "ftp://models")
    done = CliRunner().invoke(cli, ["ask", "What did Rutte say?"])
    assert done.exit_code == 2 and "'ftp://models' is not an http(s) URL" in done.output


def test_rag_ask_through_the_server(model_server, seed_index):
    from click.testing import CliRunner

    from rag.serve.cli import cli

    url, _ = model_server
    settings, _ = seed_index
    done = CliRunner().invoke(cli, ["ask", FOR_THE_MODEL, "--index-dir", str(settings.index_dir),
                                    "--llm-url", url, "--json"])
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert answer["citations"] and answer["notice"] == ""
