"""``rag serve``'s app: the chat page (``ui``) and the OpenAI-compatible API on one FastAPI
app, served by uvicorn."""

from __future__ import annotations

from pathlib import Path

from rag import Assistant
from rag.serve.openai_api import MODEL_ID, add_routes

__all__ = ["MODEL_ID", "make_app", "run"]


def make_app(bot: Assistant, seeds: Path, writable: bool = True,
             credentials: tuple[str, str] | None = None):
    """The FastAPI app serving the chat page at ``/`` and the API at ``/v1``; with
    ``credentials`` (user, password) both ask for that login (the API as a bearer key)."""
    import gradio as gr
    from fastapi import FastAPI

    from ui.app import CSS, build

    demo = build(bot, seeds, writable=writable)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_routes(app, bot, seeds, credentials[1] if credentials else None)
    demo.queue(default_concurrency_limit=8)
    return gr.mount_gradio_app(app, demo, path="", auth=credentials, show_error=False,
                               footer_links=[], css=CSS)


def run(app, host: str, port: int) -> None:
    """Serve ``app`` until interrupted."""
    import uvicorn

    # Open streams (a browser tab, gradio_client) must not hold up a stop for long.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
