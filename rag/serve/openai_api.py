"""rag-news as an OpenAI-compatible endpoint: ``POST /v1/chat/completions`` (plain or
streamed as server-sent events) and ``GET /v1/models``, served by ``rag serve`` beside the
chat page, for the ``openai`` client, Open WebUI and scripts written for them.

The message content is the answer with its ``[n]`` markers. Two fields beside
``choices`` carry what the page shows below an answer: ``references`` (one per marker:
``n``, ``article_id``, ``title``, ``date``, ``path`` relative to the indexed folder,
``start``, ``end``, ``quote``; empty for a refusal) and ``mode`` (generated, extractive,
refused). Earlier messages are the conversation; system messages are read by no one (they
cannot change the answering rules), and sampling options are accepted and ignored.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag import Answer, Assistant, Filters, IndexNotFound, InvalidQuestion, RagError

log = logging.getLogger(__name__)

MODEL_ID = "rag-news"


def error(status: int, message: str, kind: str = "invalid_request_error",
          code: str | None = None, param: str | None = None) -> JSONResponse:
    """An error in the shape OpenAI clients read."""
    return JSONResponse({"error": {"message": message, "type": kind, "param": param,
                                   "code": code}}, status_code=status)


def references(answer: Answer, folder: Path) -> list[dict]:
    """The answer's citations for a client, with paths relative to ``folder`` (never the
    server's absolute paths)."""
    out = []
    for c in answer.citations:
        path = Path(c.path)
        try:
            shown = path.resolve().relative_to(folder.resolve()).as_posix()
        except ValueError:
            shown = path.name
        out.append({"n": c.n, "article_id": c.article_id, "title": c.title, "date": c.date,
                    "path": shown, "start": c.start, "end": c.end, "quote": c.quote})
    return out


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


def read_request(body) -> tuple[str, list[dict], bool, Filters | None]:
    """The question, the conversation before it, whether to stream, and any filters.

    Raises:
        BadRequest: the body is not a chat completion request this endpoint can answer.
    """
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("`messages` must be a non-empty list of {role, content} objects.",
                         "messages")
    said = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user",
                                                             "assistant", "tool"):
            raise BadRequest(f"messages[{i}] needs a role: system, user or assistant.",
                             f"messages[{i}]")
        said.append({"role": m["role"], "content": _text(m.get("content"), i)})
    said = [m for m in said if m["role"] in ("user", "assistant")]
    if not said or said[-1]["role"] != "user":
        raise BadRequest("The last message must be the user's question.", "messages")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("`stream` must be true or false.", "stream")
    filters = None
    if any(body.get(k) for k in ("since", "until", "articles")):
        articles = body.get("articles") or ()
        if isinstance(articles, str) or not all(isinstance(a, str) for a in articles):
            raise BadRequest("`articles` must be a list of article ids.", "articles")
        try:
            filters = Filters(since=body.get("since"), until=body.get("until"),
                              articles=tuple(articles))
        except (ValueError, TypeError) as exc:
            raise BadRequest(str(exc), "since") from None
    return said[-1]["content"], said[:-1], stream, filters


def _text(content, i: int) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content
                 if isinstance(p, dict) and p.get("type") == "text"]
        if len(parts) == len(content):
            return "\n".join(parts)
        raise BadRequest("Only text content is understood here (no images or files).",
                         f"messages[{i}].content")
    raise BadRequest(f"messages[{i}].content must be a string.", f"messages[{i}].content")


def add_routes(app: FastAPI, bot: Assistant, folder: Path, password: str | None = None) -> None:
    """Serve the endpoint on ``app``; with ``password``, every request must carry
    ``Authorization: Bearer PASSWORD``."""

    def allowed(request: Request) -> bool:
        if password is None:
            return True
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                                  password.encode())

    def unauthorized() -> JSONResponse:
        response = error(401, "Incorrect API key: send the --auth password as "
                         "`Authorization: Bearer PASSWORD`.", code="invalid_api_key")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.get("/v1/models")
    def models(request: Request):
        if not allowed(request):
            return unauthorized()
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0,
                                            "owned_by": "rag-news"}]}

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        if not allowed(request):
            return unauthorized()
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return error(400, "The body is not JSON.")
        try:
            question, history, stream, filters = read_request(body)
        except BadRequest as exc:
            return error(400, str(exc), param=exc.param)
        try:
            answer = await run_in_threadpool(bot.ask, question, history, filters)
        except InvalidQuestion as exc:
            return error(400, str(exc), param="messages")
        except IndexNotFound as exc:
            return error(503, str(exc), kind="server_error", code="no_index")
        except RagError as exc:
            return error(500, str(exc), kind="server_error")
        except Exception:  # noqa: BLE001 - a client gets JSON, the log gets the traceback
            log.exception("answering %r failed", question)
            return error(500, "Something went wrong while answering; the server's log has "
                         "the details.", kind="server_error")
        if answer.fault == "ModelServerDown":
            return error(503, answer.fault_message, kind="server_error",
                         code="model_server_down")
        text = answer.text
        usage = await run_in_threadpool(_usage, bot, history, question, text)
        extra = {"references": references(answer, folder), "mode": answer.mode}
        if answer.notice:
            extra["notice"] = answer.notice
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not stream:
            return {"id": ident, "object": "chat.completion", "created": created,
                    "model": MODEL_ID,
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": usage, **extra}

        def chunk(delta: dict, finish: str | None = None, **more) -> str:
            data = {"id": ident, "object": "chat.completion.chunk", "created": created,
                    "model": MODEL_ID, "choices": [{"index": 0, "delta": delta,
                                                    "finish_reason": finish,
                                                    "logprobs": None}], **more}
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        def events():
            # The text comes once it is checked against its passages, as on the page: a
            # client never shows words that are then taken back.
            yield chunk({"role": "assistant", "content": ""})
            yield chunk({"content": text})
            yield chunk({}, "stop", usage=usage, **extra)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})


def _usage(bot: Assistant, history: list[dict], question: str, text: str) -> dict:
    """Tokens in and out by the generator's tokenizer, or estimated (4 characters a
    token) where it cannot count."""
    asked = "\n".join([m["content"] for m in history] + [question])

    def count(s: str) -> int:
        try:
            return int(bot.generator.count_tokens(s))
        except Exception:  # noqa: BLE001 - usage is informative; never fail an answer on it
            return math.ceil(len(s) / 4)

    prompt, completion = count(asked), count(text)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}
