"""What the faces ask of the Assistant besides asking and indexing (rag.assistant)."""

import pytest
from conftest import SEED, FakeEmbedder, write

from rag import Article, Assistant, Settings


@pytest.fixture
def bot(tmp_path):
    folder = tmp_path / "news"
    write(folder / "a.txt", SEED.read_text())
    write(folder / "sub" / "b.md", "Port strike\n\nDock workers went on strike on Monday.\n")
    write(folder / "notes.exe", "not an article")
    write(folder / ".hidden" / "c.txt", "Hidden\n\nA file in a hidden folder is not read.\n")
    assistant = Assistant(Settings(index_dir=tmp_path / "index", seeds_dir=folder),
                          embedder=FakeEmbedder())
    assistant.index([folder], show_progress=False)
    return assistant


def test_article_files_are_the_files_indexing_reads(bot):
    names = [p.name for p in bot.article_files(bot.settings.seeds_dir)]
    assert names == ["a.txt", "b.md"]


def test_check_index_names_the_live_generation_and_finds_no_problem(bot):
    generation, problems = bot.check_index()
    assert problems == [] and generation == bot.store.generation


def test_a_directory_index_is_not_shared():
    assert not Assistant(Settings(index_dir="anywhere")).shared_index


@pytest.mark.slow
def test_opening_statements_are_parsed_sentences_that_say_something():
    text = ("Crisis talks\n\nShort line\n\nThe minister resigned on Monday after a week of "
            "protests. Dock workers in Rotterdam went on strike over pay on Tuesday. Why?")
    article = Article("x", "/x.txt", "Crisis talks", None, None, text)
    docs = Assistant().opening_statements(article, limit=5)
    assert [d.text for d in docs] == [
        "The minister resigned on Monday after a week of protests.",
        "Dock workers in Rotterdam went on strike over pay on Tuesday."]
    assert any(e.label_ == "DATE" for e in docs[0].ents)
