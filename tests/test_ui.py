import pytest
from conftest import SEED, FakeEmbedder, ScriptedGenerator, write

from rag import Assistant, Settings
from ui.app import ChatApp, escape, render_answer, safe_name, unique_path


def test_safe_name_keeps_only_the_base_name():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("C:\\Users\\me\\news.md") == "news.md"
    assert safe_name("<script>.html") == "_script_.html"
    assert safe_name("report.exe") is None and safe_name("..") is None


def test_unique_path_never_overwrites(tmp_path):
    write(tmp_path / "a.txt", "x")
    write(tmp_path / "a (2).txt", "x")
    assert unique_path(tmp_path, "a.txt").name == "a (3).txt"
    assert unique_path(tmp_path, "b.txt").name == "b.txt"


def test_escape_neutralises_html_and_markdown():
    shown = escape("<img src=x onerror=alert(1)> [click](http://evil) ![i](http://x.png)")
    import re

    assert "<img" not in shown and "&lt;img" in shown
    assert not re.search(r"(?<!\\)\]\(", shown)  # every link bracket is escaped


@pytest.fixture
def app(tmp_path):
    seeds = tmp_path / "seeds"
    write(seeds / SEED.name, SEED.read_bytes())
    bot = Assistant(Settings(index_dir=tmp_path / "index", chunk_tokens=80),
                    embedder=FakeEmbedder(), generator=ScriptedGenerator())
    bot.index([seeds])
    return ChatApp(bot, seeds)


def upload_file(tmp_path, name, content):
    # What Gradio hands over: a temp file whose name is the client's file name.
    folder = tmp_path / "upload" / str(len(list(tmp_path.glob("upload/*"))))
    return str(write(folder / name, content))


def test_upload_edge_cases(app, tmp_path):
    files = [upload_file(tmp_path, "passwd.txt", "Harbour news from Rotterdam today.\n"),
             upload_file(tmp_path, "empty.txt", ""),
             upload_file(tmp_path, "tool.exe", "MZ binary")]
    message, status, rows, *_ = app.upload(files, progress=lambda *a, **k: None)
    assert (app.seeds_dir / "passwd.txt").exists()  # saved inside the seeds folder only
    assert not (tmp_path.parent / "etc").exists()
    assert "empty.txt: the file is empty" in message
    assert "tool.exe: not a supported file type" in message
    assert "passwd" in [r[0] for r in rows] and "2 articles" not in status

    # The same name again gets a new name, not an overwrite.
    again = upload_file(tmp_path, "passwd.txt", "Another harbour story.\n")
    app.upload([again], progress=lambda *a, **k: None)
    assert (app.seeds_dir / "passwd (2).txt").read_text() == "Another harbour story.\n"
    assert (app.seeds_dir / "passwd.txt").read_text().startswith("Harbour news")


def test_delete_removes_file_and_index_entry(app, tmp_path):
    app.upload([upload_file(tmp_path, "gone.txt", "A short story to delete.\n")],
               progress=lambda *a, **k: None)
    message, _, rows, *_ = app.delete("gone")
    assert "Deleted gone.txt" in message
    assert not (app.seeds_dir / "gone.txt").exists() and "gone" not in [r[0] for r in rows]


def test_chat_renders_sources_and_escapes_article_text(app, tmp_path):
    write(app.seeds_dir / "x.txt", "date 2025-05-01 The mayor said <b>bold</b> things about "
          "the Rotterdam harbour strike.\n")
    app.bot.index([app.seeds_dir])
    app.bot._generator = ScriptedGenerator("The mayor said things about the strike [1].")
    *_, final = list(app.respond("What did the mayor say about the harbour strike?", []))
    assert "**Sources**" in final and "<mark>" in final and "<b>" not in final
    *_, refusal = list(app.respond("What did Macron say?", []))
    assert "couldn" in refusal and "Closest passages" in refusal


def test_bad_filter_and_empty_question_get_messages(app):
    assert "Filter problem" in list(app.respond("x", [], "yesterday", "", []))[-1]
    assert "question is empty" in list(app.respond("   ", []))[-1]


def test_render_refusal_without_passages():
    from rag.types import Answer

    assert render_answer(Answer("No article matches the filters.", "refused")).startswith("**")
