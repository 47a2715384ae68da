"""The LLM stage on other machines: any OpenAI-compatible server (llama.cpp's, vLLM,
Ollama, ``python -m llama_cpp.server``), streamed over HTTP.

Several URLs make a pool: requests go round robin, and one that refuses the connection
is skipped for the next. The prompt, the stop sequences, the token cap and everything
after generation (verification, the extractive fallback) are the same as in-process.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterator

import httpx

from rag.config import Settings
from rag.errors import ModelServerDown, ModelServerError, ModelServerReply, ModelServerTimeout

log = logging.getLogger(__name__)

#: Characters per token assumed when a server cannot count tokens: English averages ~4
#: characters a token in these models' vocabularies; 2.5 leaves room for names and
#: numbers, which split into more tokens, so a prompt never overflows the window.
CHARS_PER_TOKEN = 2.5


def chat_tuned(name: str) -> bool:
    """Whether a model name marks a chat model (the same rule the in-process model uses):
    those get the chat endpoint, base models the plain completion one."""
    name = name.lower()
    return any(mark in name for mark in ("instruct", "-it", "chat"))


class OpenAIGenerator:
    """A generator backed by one or more OpenAI-compatible servers.

    Args:
        urls: Base URLs ending in ``/v1`` (``http://host:8000/v1``).
        model: The served model's name; asked of the first server that answers
            ``/v1/models`` when None.
        api_key: Sent as ``Authorization: Bearer KEY`` (``RAG_LLM_API_KEY``).
        settings: Timeout, sampling and the endpoint to use (``llm_api``).
    """

    def __init__(self, urls: list[str] | tuple[str, ...], model: str | None = None,
                 api_key: str | None = None, settings: Settings | None = None):
        if not urls:
            raise ValueError("at least one model server URL is needed")
        s = settings or Settings()
        self.urls = [u.rstrip("/") for u in urls]
        self._model = model
        self.settings = s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=httpx.Timeout(s.llm_timeout))
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._extras: dict[str, bool] = {}  # url -> accepts llama.cpp's sampling options
        self._tokenizer: dict[str, bool] = {}  # url -> has /extras/tokenize

    @property
    def name(self) -> str:
        """The served model's name once known (never contacts a server)."""
        return self._model or "the served model"

    @property
    def where(self) -> str:
        return ", ".join(self.urls)

    @property
    def model(self) -> str:
        """The served model's name (asked once when not given)."""
        if self._model is None:
            models = self._request("GET", "/models")
            try:
                self._model = str(models["data"][0]["id"])
            except (KeyError, IndexError, TypeError):
                raise ModelServerReply(f"The model server at {self.where} lists no model "
                                       "under /v1/models; name one with --model.") from None
        return self._model

    @property
    def chat(self) -> bool:
        api = self.settings.llm_api
        return chat_tuned(self.model) if api == "auto" else api == "chat"

    def prepare(self) -> str | None:
        """Reach every server now (and learn the model's name): a problem to report,
        naming the servers that did not answer, or None."""
        down = []
        for url in self.urls:
            try:
                reply = self._client.get(url + "/models", timeout=5)
                reply.raise_for_status()
                if self._model is None:
                    self._model = str(reply.json()["data"][0]["id"])
            except httpx.HTTPError as exc:
                down.append(f"{url} ({type(exc).__name__})")
            except (ValueError, KeyError, IndexError, TypeError):
                down.append(f"{url} (no model listed under /models)")
        if down:
            return f"The model server did not answer: {', '.join(down)}."
        return None

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by the server's own tokenizer where it has one (llama.cpp's
        ``/extras/tokenize``), else a conservative estimate from its length."""
        url = self.urls[0]
        if self._tokenizer.get(url, True):
            try:
                reply = self._client.post(url.removesuffix("/v1") + "/extras/tokenize",
                                          json={"input": text},
                                          timeout=min(5.0, self.settings.llm_timeout))
                if reply.status_code == 200:
                    count = len(reply.json()["tokens"])
                    self._tokenizer[url] = True
                    return count
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                pass
            # No tokenizer there (or it failed): estimate from now on, rather than wait
            # on it for every piece of every prompt.
            self._tokenizer[url] = False
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def stream(self, prompt: str, max_tokens: int, stop: list[str]) -> Iterator[str]:
        """The completion's text, piece by piece.

        Raises:
            ModelServerDown: no server accepted the connection.
            ModelServerTimeout: a server took longer than ``llm_timeout`` seconds.
            ModelServerReply: a server answered with an error or something unreadable.
        """
        s = self.settings
        body: dict = {"model": self.model, "max_tokens": max_tokens, "stop": stop,
                      "stream": True, "temperature": s.temperature}
        if self.chat:
            path = "/chat/completions"
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            path = "/completions"
            body["prompt"] = prompt
        for url in self._order():
            extras = self._extras.get(url, True)
            try:
                yield from self._stream(url, path, body, extras)
                return
            except _Rejected:
                # The server refuses llama.cpp's own sampling options: ask again without.
                self._extras[url] = False
                yield from self._stream(url, path, body, False)
                return
            except _Refused:
                log.warning("model server %s refused the connection; trying the next", url)
        raise self._down()

    def _order(self) -> list[str]:
        with self._lock:
            first = next(self._turn) % len(self.urls)
        return self.urls[first:] + self.urls[:first]

    def _stream(self, url: str, path: str, body: dict, extras: bool) -> Iterator[str]:
        if extras:
            body = {**body, "repeat_penalty": self.settings.repeat_penalty, "top_k": 1}
        deadline = time.monotonic() + self.settings.llm_timeout
        try:
            with self._client.stream("POST", url + path, json=body) as reply:
                if reply.status_code in (400, 422) and extras:
                    reply.read()
                    if "repeat_penalty" in reply.text or "top_k" in reply.text:
                        raise _Rejected
                if reply.status_code != 200:
                    reply.read()
                    raise ModelServerReply(f"The model server at {url} answered "
                                           f"{reply.status_code}: {_short(reply.text)}")
                finished = False
                for line in reply.iter_lines():
                    if time.monotonic() > deadline:
                        raise ModelServerTimeout(self._slow(url))
                    if not line.strip() or line.startswith(":"):
                        continue
                    if not line.startswith("data:"):
                        raise ModelServerReply(f"The model server at {url} sent something "
                                               f"that is not a completion stream: "
                                               f"{_short(line)}")
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    text, finish = _piece(data, url)
                    finished = finished or bool(finish)
                    if text:
                        yield text
                if not finished:
                    # A draft cut short would be checked as if it were whole: refuse it.
                    # (llama_cpp.server ends a running answer this way when another
                    # request arrives, unless it runs with --interrupt_requests False.)
                    raise ModelServerReply(
                        f"The model server at {url} stopped before the answer was finished "
                        "(no finish_reason). If it is llama_cpp.server, start it with "
                        "--interrupt_requests False so requests wait for each other.")
        except httpx.ConnectError:
            raise _Refused from None
        except httpx.TimeoutException:
            raise ModelServerTimeout(self._slow(url)) from None
        except httpx.HTTPError as exc:
            raise ModelServerReply(f"The model server at {url} broke off: {exc}") from None

    def _down(self) -> ModelServerDown:
        return ModelServerDown(f"The model server is down: {self.where} refused the "
                               "connection. Start it, or point --llm-url at one that runs.")

    def _slow(self, url: str) -> str:
        return (f"The model server at {url} did not answer within "
                f"{self.settings.llm_timeout:g} s (Settings.llm_timeout).")

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str) -> dict:
        for url in self._order():
            try:
                reply = self._client.request(method, url + path)
            except httpx.ConnectError:
                continue
            except httpx.TimeoutException:
                raise ModelServerTimeout(self._slow(url)) from None
            except httpx.HTTPError as exc:
                raise ModelServerReply(f"The model server at {url} broke off: {exc}") from None
            try:
                reply.raise_for_status()
                return reply.json()
            except (httpx.HTTPStatusError, ValueError):
                raise ModelServerReply(f"The model server at {url} answered {path} with "
                                       f"{reply.status_code}: {_short(reply.text)}") from None
        raise self._down()


class _Refused(Exception):
    """The connection was refused (move on to the next server)."""


class _Rejected(Exception):
    """The server refused the request's extra sampling options."""


def _piece(data: str, url: str) -> tuple[str, str | None]:
    """The text of one streamed chunk (completion or chat) and its finish reason."""
    try:
        chunk = json.loads(data)
        if "error" in chunk:
            raise ModelServerReply(f"The model server at {url} failed: "
                                   f"{_short(json.dumps(chunk['error']))}")
        choice = chunk["choices"][0] if chunk["choices"] else {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ModelServerReply(f"The model server at {url} sent a chunk that is not a "
                               f"completion: {_short(data)}") from None
    if not isinstance(choice, dict):
        raise ModelServerReply(f"The model server at {url} sent a chunk that is not a "
                               f"completion: {_short(data)}")
    finish = choice.get("finish_reason")
    if "delta" in choice:
        return (choice["delta"] or {}).get("content") or "", finish
    return choice.get("text") or "", finish


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "\u2026"


def api_key() -> str | None:
    """The model server's key, from ``RAG_LLM_API_KEY`` (never from a command line, where
    other users of the machine could read it)."""
    return os.environ.get("RAG_LLM_API_KEY") or None


__all__ = ["OpenAIGenerator", "ModelServerError", "chat_tuned", "api_key"]
