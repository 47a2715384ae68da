import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import SEED, FakeEmbedder, write

from rag.serve import cli as cli_module


@pytest.fixture
def runner(monkeypatch):
    fake = FakeEmbedder()
    monkeypatch.setattr("rag.assistant.make_embedder", lambda *a, **k: fake)
    return CliRunner()


def test_index_json_report_and_search(runner, tmp_path):
    folder = tmp_path / "news"
    write(folder / "a.txt", "date 2024-05-01 The harbour strike ended on Monday.\n")
    write(folder / "b.txt", "Elections\n\nVoters went to the polls in record numbers.\n")
    write(folder / "bad.txt", b"\x00\x01\x02\x03" * 50)
    index_dir = tmp_path / "idx"
    result = runner.invoke(cli_module.cli, ["index", str(folder), "--index-dir",
                                            str(index_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["articles"] == {"added": 2, "changed": 0, "unchanged": 0, "deleted": 0,
                                  "skipped": [{"path": str((folder / "bad.txt").resolve()),
                                               "reason": "binary file (contains NUL bytes)"}]}
    assert report["chunks_embedded"] == report["chunks_total"] == 2
    assert report["seconds"] >= 0

    result = runner.invoke(cli_module.cli, ["search", "harbour strike", "-k", "1",
                                            "--index-dir", str(index_dir), "--json"])
    assert result.exit_code == 0, result.output
    [hit] = json.loads(result.stdout)["passages"]
    assert hit["article_id"] == "a" and hit["date"] == "2024-05-01"
    assert hit["text"] == "The harbour strike ended on Monday."
    assert (hit["start"], hit["end"]) == (0, len(hit["text"]))

    human = runner.invoke(cli_module.cli, ["search", "polls", "--index-dir", str(index_dir)])
    assert "[1] Elections (undated)" in human.output


def test_index_check(runner, tmp_path):
    write(tmp_path / "news" / "a.txt", "A story.\n")
    idx = str(tmp_path / "idx")
    runner.invoke(cli_module.cli, ["index", str(tmp_path / "news"), "--index-dir", idx])
    ok = runner.invoke(cli_module.cli, ["index", "--check", "--index-dir", idx, "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["problems"] == []
    import sqlite3

    from rag.stores.embedded import current_generation

    gen = tmp_path / "idx" / current_generation(tmp_path / "idx")
    with sqlite3.connect(gen / "store.sqlite") as db:  # damage it: a chunk loses its vector
        db.execute("INSERT INTO chunks VALUES (42, 'a', 9, 0, 1, 'x', '[]')")
    bad = runner.invoke(cli_module.cli, ["index", "--check", "--index-dir", idx])
    assert bad.exit_code == 1 and "1 chunks have no vector" in bad.output


def test_search_without_index_names_the_build_command(runner, tmp_path):
    result = runner.invoke(cli_module.cli, ["search", "anything", "--index-dir",
                                            str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "No index at" in result.output and "rag index seeds/" in result.output
    assert "Traceback" not in result.output


def test_empty_query_is_a_message_not_a_traceback(runner, tmp_path):
    result = runner.invoke(cli_module.cli, ["search", "   "])
    assert result.exit_code == 1 and "question is empty" in result.output


def test_watch_indexes_files_as_they_arrive(tmp_path, fake_embedder):
    import threading
    import time

    from rag.config import Settings
    from rag.index.build import sync
    from rag.index.watching import watch
    from rag.stores.opening import open_store

    folder = tmp_path / "w"
    folder.mkdir()
    settings = Settings(index_dir=tmp_path / "idx", chunk_tokens=60)
    sync([folder], settings, fake_embedder)
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=([folder], lambda: sync(
        [folder], settings, fake_embedder)), kwargs={"debounce": 0.2, "stop": stop})
    thread.start()
    try:
        write(folder / "late.txt", "A story that arrived late.\n")
        deadline = time.time() + 20
        while time.time() < deadline:
            if "late" in open_store(settings.index_dir).articles():
                break
            time.sleep(0.2)
        assert "late" in open_store(settings.index_dir).articles()
        (folder / "late.txt").unlink()
        while time.time() < deadline + 20:
            if "late" not in open_store(settings.index_dir).articles():
                break
            time.sleep(0.2)
        assert "late" not in open_store(settings.index_dir).articles()
    finally:
        stop.set()
        thread.join(10)


@pytest.mark.slow
def test_real_embedder_on_the_seed_article(tmp_path):
    """The installed `rag` command with the bundled all-MiniLM-L6-v2 finds Rutte's quote."""
    folder = tmp_path / "seeds"
    write(folder / SEED.name, SEED.read_bytes())
    index_dir = str(tmp_path / "index")
    run = [sys.executable, "-m", "rag.serve.cli"]
    out = subprocess.run([*run, "index", str(folder), "--index-dir", index_dir, "--json"],
                         capture_output=True, text=True, check=True, timeout=600)
    report = json.loads(out.stdout)
    assert report["articles"]["added"] == 1 and report["chunks_total"] >= 3
    out = subprocess.run([*run, "search", "What did Rutte say?", "-k", "1", "--index-dir",
                          index_dir, "--json"], capture_output=True, text=True, check=True,
                         timeout=600)
    [hit] = json.loads(out.stdout)["passages"]
    assert "The balls are clearly in the Russian court now" in hit["text"]
    assert hit["date"] == "2025-04-25" and hit["article_id"] == SEED.stem
    again = subprocess.run([*run, "index", str(folder), "--index-dir", index_dir, "--json"],
                           capture_output=True, text=True, check=True, timeout=600)
    assert json.loads(again.stdout)["articles"]["unchanged"] == 1


LONG = ("In contrast, NATO Secretary-General Mark Rutte said on Thursday it was Moscow, not "
        "Kiev, that needed to move forward in negotiations. \u201cThe balls are clearly in the "
        "Russian court now,\u201d Rutte told reporters at the White House after meeting Trump.")


@pytest.mark.parametrize("text, limit, shown", [
    ("Short one.", 200, "Short one."),
    (LONG, 200, LONG.split(" \u201c")[0] + " \u2026"),  # ends with its first sentence
    ("word " * 60, 200, ("word " * 40).strip() + " \u2026"),  # no sentence end: at a word
])
def test_passages_are_cut_after_a_sentence_or_a_word_never_inside_one(text, limit, shown):
    from rag import Article, Chunk, Passage
    from rag.ingest import sentence_spans

    article = Article("a", "/a.txt", "A", None, None, text)
    chunk = Chunk(1, "a", 0, 0, len(text), text, tuple(sentence_spans(text)))
    assert Passage(chunk, article, 1.0).excerpt(limit) == shown
