"""Shared fixtures. The fakes, the generated corpus and the harness live in
``rag.testing``, which the benchmarks use too; nothing here needs data beside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.testing.corpus import ROOT, SEED, write_news  # noqa: F401 - re-exported to tests
from rag.testing.fakes import FakeEmbedder, ScriptedGenerator  # noqa: F401
from rag.testing.pdf import make_pdf  # noqa: F401
from rag.types import Article, Chunk, Passage

TEXT = ("Dock workers in Rotterdam went on strike over pay on Monday. The union said 4,000 "
        "members walked out. \u201cWe will not go back for less,\u201d said union leader Anna "
        "de Vries.")


def seed_passage(text=TEXT, article_id="port"):
    a = Article(article_id, f"/{article_id}.txt", "Port strike", "2025-04-10", None, text)
    spans = ((0, 61), (62, 96), (97, len(text)))
    return Passage(Chunk(1, article_id, 0, 0, len(text), text, spans), a, 1.0)


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Point user state at a temp dir so no test touches ./index."""
    for var in ("RAG_INDEX_DIR", "RAG_STORE", "RAG_MILVUS_TOKEN", "RAG_SEEDS_DIR",
                "RAG_EMBEDDER", "RAG_MODEL", "RAG_CACHE_DIR", "RAG_LLM_URL", "RAG_LLM_MODEL",
                "RAG_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def milvus_port(tmp_path_factory):
    """A real ``milvus-lite server`` on 127.0.0.1 for the whole session (skips with the
    reason when the milvus extra is missing)."""
    from rag.testing.milvus import available, start_milvus, stop

    why = available()
    if why:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("milvus")
    proc, port = start_milvus(root / "data", root / "server.log")
    yield port
    stop(proc)


@pytest.fixture(params=["embedded", "milvus"])
def location(request, tmp_path):
    """Where a test's index lives: a directory, or a fresh collection on Milvus Lite."""
    if request.param == "embedded":
        return tmp_path / "index"
    from rag.testing.milvus import fresh_uri

    return fresh_uri(request.getfixturevalue("milvus_port"))


@pytest.fixture
def app(tmp_path):
    """The chat page's logic (``ui.app.ChatApp``) over the seed article, with the fakes."""
    from rag import Assistant, Settings
    from ui.app import ChatApp

    seeds = tmp_path / "seeds"
    write(seeds / SEED.name, SEED.read_bytes())
    bot = Assistant(Settings(index_dir=tmp_path / "index", chunk_tokens=80),
                    embedder=FakeEmbedder(), generator=ScriptedGenerator())
    bot.index([seeds])
    return ChatApp(bot, seeds)
