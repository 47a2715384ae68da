"""The Milvus engine against a real ``milvus-lite server``: what only it has (a server that
can be down, the lock record, a shared index), and a whole question asked on it.

The behaviour both engines share is tested on both in test_base.py and index/test_build.py.
"""

import json
import subprocess
import sys
import threading
import time

import pytest
from conftest import SEED, write

from rag.config import Settings
from rag.errors import IndexLocked, StoreUnavailable
from rag.stores.opening import open_store, write_lock
from rag.testing.milvus import fresh_uri
from rag.testing.server import free_port

RUN = [sys.executable, "-m", "rag.serve.cli"]


def test_uris_name_the_server_and_the_collection():
    from rag.stores.milvus import parse

    a = parse("milvus://db.example:19531/news")
    assert (a.endpoint, a.name, a.chunks, a.lite) == ("http://db.example:19531", "news",
                                                     "news_chunks", False)
    assert parse("milvus+https://db.example/news").endpoint == "https://db.example:19530"
    assert parse("milvus://db.example").name == "rag_news"
    lite = parse("milvus-lite:///tmp/x/index.db#other")
    assert (lite.endpoint, lite.name, lite.lite) == ("/tmp/x/index.db", "other", True)
    for bad in ("milvus://host/1bad", "milvus://host/a-b", "milvus-lite://"):
        with pytest.raises(ValueError):
            parse(bad)
    with pytest.raises(ValueError, match="milvus://host:port/collection"):
        Settings(store="redis://host/x")
    assert Settings(store="milvus://h:1/n", index_dir="elsewhere").location == "milvus://h:1/n"


def test_rag_store_from_the_environment_and_store_over_index_dir(monkeypatch):
    monkeypatch.setenv("RAG_STORE", "milvus://db.example:19530/news")
    assert Settings.from_env().location == "milvus://db.example:19530/news"
    assert Settings.from_env(store="milvus://other:1/x").location == "milvus://other:1/x"
    monkeypatch.setenv("RAG_STORE", "ftp://nowhere")
    out = subprocess.run([*RUN, "search", "x"], capture_output=True, text=True)
    assert out.returncode == 2 and "milvus://host:port/collection" in out.stderr


def test_a_server_that_is_down_is_named_with_what_to_do(tmp_path):
    uri = f"milvus://127.0.0.1:{free_port()}/news"
    with pytest.raises(StoreUnavailable, match=f"The Milvus server at {uri} is not answering"):
        open_store(uri)
    write(tmp_path / "a" / "a.txt", "A story.\n")
    for args in (["ask", "What happened?"], ["index", str(tmp_path / "a")],
                 ["search", "story"]):
        out = subprocess.run([*RUN, *args, "--store", uri], capture_output=True, text=True)
        assert out.returncode == 1, out.stderr
        assert out.stderr.startswith(f"Error: The Milvus server at {uri} is not answering")
        assert "Traceback" not in out.stderr and "[ERROR]" not in out.stderr


def test_one_writer_at_a_time_and_a_dead_writers_lock_is_taken_over(milvus_port):
    uri = fresh_uri(milvus_port)
    held, release = threading.Event(), threading.Event()

    def writer():
        with write_lock(uri):
            held.set()
            release.wait(30)

    t = threading.Thread(target=writer)
    t.start()
    assert held.wait(30)
    began = time.monotonic()
    with pytest.raises(IndexLocked, match=f"is updating the index at {uri}"):
        with write_lock(uri, timeout=1.5):
            pass
    assert time.monotonic() - began >= 1.5
    release.set()
    t.join()
    with write_lock(uri, timeout=5):
        pass  # released: free at once

    # A writer killed with -9 leaves its record; its process is gone, so it is stale.
    code = ("import os, sys\nfrom rag.stores.opening import write_lock\n"
            "with write_lock(sys.argv[1]):\n    os.kill(os.getpid(), 9)\n")
    dead = subprocess.run([sys.executable, "-c", code, uri])
    assert dead.returncode == -9
    began = time.monotonic()
    with write_lock(uri, timeout=5):
        pass
    assert time.monotonic() - began < 5


def test_serve_on_a_shared_index_does_not_index_its_seeds(milvus_port, tmp_path):
    uri = fresh_uri(milvus_port)
    write(tmp_path / "seeds" / "a.txt", "A local story.\n")
    out = subprocess.run([*RUN, "serve", "--store", uri, "--seeds", str(tmp_path / "seeds"),
                          "--port", str(free_port())], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1 and f"No index at {uri}" in out.stderr, out.stderr
    from rag.stores.milvus import connect, parse

    address = parse(uri)
    assert not connect(address).has_collection(address.chunks)  # nothing was written


def test_the_page_on_a_shared_index_neither_uploads_nor_deletes(milvus_port, tmp_path,
                                                               fake_embedder):
    from rag import Assistant
    from ui.articles import Library

    uri = fresh_uri(milvus_port)
    folder = tmp_path / "seeds"
    write(folder / "a.txt", "Harbour strike\n\nThe harbour strike ended on Monday.\n")
    bot = Assistant(Settings(store=uri), embedder=fake_embedder)
    bot.index([folder])
    library = Library(bot, folder, writable=False)
    upload = write(tmp_path / "new.txt", "Another story.\n")
    assert "reads a shared index" in library.upload([str(upload)])
    prompt, pending = library.ask_delete("a")
    assert "reads a shared index" in prompt and pending is None
    assert (folder / "a.txt").exists() and [a.id for a in bot.articles()] == ["a"]
    assert not (folder / "new.txt").exists()


def test_the_seed_article_asked_on_milvus_as_on_the_embedded_index(milvus_port, tmp_path):
    """The installed command with the bundled models: same answer, same citations."""
    folder = tmp_path / "seeds"
    write(folder / SEED.name, SEED.read_bytes())
    answers = []
    for where in (["--index-dir", str(tmp_path / "index")],
                  ["--store", fresh_uri(milvus_port)]):
        built = subprocess.run([*RUN, "index", str(folder), *where, "--json"],
                               capture_output=True, text=True, check=True)
        assert json.loads(built.stdout)["articles"]["added"] == 1
        checked = subprocess.run([*RUN, "index", "--check", *where], capture_output=True,
                                 text=True)
        assert checked.returncode == 0 and "no problems found" in checked.stdout
        out = subprocess.run([*RUN, "ask", "What did Lavrov say about which targets Russia "
                              "attacks?", *where, "--json"], capture_output=True, text=True,
                             check=True)
        answers.append(json.loads(out.stdout))
    embedded, milvus = answers
    assert milvus["mode"] == embedded["mode"] and milvus["answer"] == embedded["answer"]
    cited = [[(c["article_id"], c["start"], c["end"]) for c in a["citations"]]
             for a in answers]
    assert cited[0] == cited[1] and cited[0]
    assert "military" in milvus["answer"]


def test_rag_evals_content_keyed_cache_is_a_collection_on_milvus(milvus_port, tmp_path,
                                                                 fake_embedder):
    from rag.evaluation import prepare_index

    uri = fresh_uri(milvus_port)
    data = {"docs": [{"id": "d1", "title": "Ports", "text": "Dock workers struck in May."}],
            "questions": []}
    first = prepare_index(data, tmp_path / "eval.json", Settings(store=uri), fake_embedder)
    again = prepare_index(data, tmp_path / "eval.json", Settings(store=uri), fake_embedder)
    assert first.store == again.store and first.store.startswith(uri + "_")
    store = open_store(first.location)
    assert list(store.articles(with_text=False)) == ["d1"] and store.generation == "gen-000001"
    other = dict(data, docs=[{"id": "d2", "text": "Another text."}])
    assert prepare_index(other, tmp_path / "eval.json", Settings(store=uri),
                         fake_embedder).store != first.store


def test_milvus_lite_in_process_for_one_person(tmp_path):
    """milvus-lite://PATH: each command opens the data directory in its own process (the
    collections come back released and are loaded); a second process at the same time
    is told what to do instead."""
    pytest.importorskip("milvus_lite")
    from rag.stores.milvus import connect, parse

    folder = write(tmp_path / "news" / "a.txt", "Harbour strike\n\nThe harbour strike in "
                   "Rotterdam ended on Monday.\n").parent
    uri = f"milvus-lite://{tmp_path / 'lite' / 'index.db'}"
    subprocess.run([*RUN, "index", str(folder), "--store", uri], check=True,
                   capture_output=True)
    found = subprocess.run([*RUN, "search", "Rotterdam strike", "--store", uri, "--json"],
                           capture_output=True, text=True, check=True)
    assert json.loads(found.stdout)["passages"][0]["article_id"] == "a"
    connect(parse(uri))  # this process holds it now
    busy = subprocess.run([*RUN, "search", "strike", "--store", uri], capture_output=True,
                          text=True)
    assert busy.returncode == 1 and "Only one process may use a Milvus Lite data directory" \
        in busy.stderr and "Traceback" not in busy.stderr, busy.stderr


def test_a_server_that_stops_while_serving_is_named_too(tmp_path, fake_embedder):
    from rag import Assistant
    from rag.testing.milvus import available, start_milvus, stop

    if why := available():
        pytest.skip(why)
    proc, port = start_milvus(tmp_path / "data", tmp_path / "server.log")
    try:
        uri = f"milvus://127.0.0.1:{port}/news"
        bot = Assistant(Settings(store=uri), embedder=fake_embedder)
        bot.index([write(tmp_path / "news" / "a.txt", "The harbour strike ended.\n").parent])
        assert bot.search("harbour strike")
    finally:
        stop(proc)
    with pytest.raises(StoreUnavailable, match=f"The Milvus server at {uri} is not answering"):
        bot.search("harbour strike")
