"""The Articles tab's work: exact, confirmed deletes; uploads that do not duplicate; lists
read from the live index."""

import random

import pytest
from conftest import SEED, FakeEmbedder, ScriptedGenerator, write

from rag import Assistant, Settings
from rag.stores.opening import open_store
from ui.articles import Library, main_speaker, safe_name, unique_path

NOOP = lambda *a, **k: None  # noqa: E731 - Gradio's progress, unused here


@pytest.fixture
def library(tmp_path):
    seeds = tmp_path / "seeds"
    write(seeds / SEED.name, SEED.read_bytes())
    write(seeds / "001.txt", "date 2025-05-02 Harbour strike ends\n\nThe Rotterdam harbour "
          "strike ended on Friday, the union said.\n")
    bot = Assistant(Settings(index_dir=tmp_path / "index", chunk_tokens=80),
                    embedder=FakeEmbedder(), generator=ScriptedGenerator())
    bot.index([seeds])
    return Library(bot, seeds)


def upload_file(tmp_path, name, content):
    # What Gradio hands over: a temp file whose name is the client's file name.
    folder = tmp_path / "upload" / str(len(list(tmp_path.glob("upload/*"))))
    return str(write(folder / name, content))


def indexed(library):
    return {a.id for a in library.bot.articles()}


@pytest.mark.parametrize("given, kept", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\me\\news.md", "news.md"),
    ("<script>.html", "_script_.html"),
    ("report.exe", None),
    ("..", None),
])
def test_safe_name_keeps_only_the_base_name(given, kept):
    assert safe_name(given) == kept


def test_unique_path_never_overwrites(tmp_path):
    write(tmp_path / "a.txt", "x")
    write(tmp_path / "a (2).txt", "x")
    assert unique_path(tmp_path, "a.txt").name == "a (3).txt"
    assert unique_path(tmp_path, "b.txt").name == "b.txt"


def test_delete_without_a_choice_or_with_an_unknown_id_deletes_nothing(library):
    before = indexed(library)
    for choice in (None, "", "001 (2)", "00", "001.txt", " 001"):
        message, pending = library.ask_delete(choice)
        assert pending is None and "nothing was deleted" in message.lower()
    assert library.confirm_delete(None, "001") == "Nothing to confirm; nothing was deleted."
    assert indexed(library) == before and (library.seeds_dir / "001.txt").exists()


def test_confirmed_delete_removes_exactly_that_file_and_its_chunks(library):
    prompt, pending = library.ask_delete("001")
    assert "Harbour strike ends" in prompt and "\u201c001.txt\u201d" in prompt  # title, file
    assert (library.seeds_dir / "001.txt").exists()  # asking deletes nothing
    message = library.confirm_delete(pending, "001")
    assert "Deleted **Harbour strike ends** (\u201c001.txt\u201d)" in message
    assert not (library.seeds_dir / "001.txt").exists()
    assert (library.seeds_dir / SEED.name).exists() and indexed(library) == {SEED.stem}
    store = open_store(library.bot.settings.index_dir)
    assert store.check() == [] and store.count("articles") == 1


def test_a_confirmation_for_another_choice_or_a_stale_one_deletes_nothing(library):
    _, pending = library.ask_delete("001")
    assert "choice changed" in library.confirm_delete(pending, SEED.stem)
    (library.seeds_dir / "001.txt").unlink()  # deleted elsewhere, then indexed
    library.bot.index([library.seeds_dir])
    assert "No article with the id \u201c001\u201d" in library.confirm_delete(pending, "001")
    assert indexed(library) == {SEED.stem}


def test_an_article_from_outside_the_seeds_folder_is_not_deleted(library, tmp_path):
    write(tmp_path / "elsewhere" / "far.txt", "A story indexed from another folder.\n")
    library.bot.index([tmp_path / "elsewhere"])
    message, pending = library.ask_delete("far")
    assert pending is None and "outside the seeds folder" in message
    assert (tmp_path / "elsewhere" / "far.txt").exists() and "far" in indexed(library)


def test_upload_edge_cases(library, tmp_path):
    files = [upload_file(tmp_path, "passwd.txt", "Harbour news from Rotterdam today.\n"),
             upload_file(tmp_path, "empty.txt", ""),
             upload_file(tmp_path, "tool.exe", "MZ binary")]
    message = library.upload(files, NOOP)
    assert (library.seeds_dir / "passwd.txt").exists()  # saved inside the seeds folder only
    assert not (tmp_path.parent / "etc").exists()
    assert "empty.txt: the file is empty" in message
    assert "tool.exe: not a supported file type" in message
    assert "passwd" in indexed(library)

    # Another file under a taken name gets a new name, not an overwrite, and says so.
    again = upload_file(tmp_path, "passwd.txt", "Another harbour story.\n")
    assert "passwd (2).txt (passwd.txt was taken)" in library.upload([again], NOOP)
    assert (library.seeds_dir / "passwd (2).txt").read_text() == "Another harbour story.\n"
    assert (library.seeds_dir / "passwd.txt").read_text().startswith("Harbour news")


def test_the_same_content_twice_is_not_added_again(library, tmp_path):
    same = "date 2025-05-03 Ferry news\n\nThe new ferry to Hull starts in May.\n"
    assert "Added ferry.txt" in library.upload([upload_file(tmp_path, "ferry.txt", same)],
                                               NOOP)
    for name in ("ferry.txt", "copy of ferry.txt"):
        message = library.upload([upload_file(tmp_path, name, same)], NOOP)
        assert message == f"Not added again: {name} is already there as ferry.txt."
    assert sorted(p.name for p in library.seeds_dir.iterdir()) == \
        sorted([SEED.name, "001.txt", "ferry.txt"])


def test_snapshot_is_read_from_the_live_index(library):
    snap = library.snapshot()
    assert "**2** articles" in snap.status
    assert snap.choices[0] == ("Harbour strike ends \u00b7 2025-05-02 \u00b7 001", "001")
    assert any(value == SEED.stem for _, value in snap.choices)
    # A change made by another process shows in the next snapshot.
    (library.seeds_dir / "001.txt").unlink()
    Assistant(library.bot.settings, embedder=FakeEmbedder()).index([library.seeds_dir])
    snap = library.snapshot()
    assert "**1** articles" in snap.status and [v for _, v in snap.choices] == [SEED.stem]


def test_examples_ask_about_the_people_the_articles_quote(library):
    assert "What did Lavrov say?" in library.snapshot().examples
    assert main_speaker("Mr Brown said it. He said more. \"No,\" said Gordon Brown. "
                        "Mr Brown told MPs.") == "Mr Brown"
    assert main_speaker("The spokesman said nothing. It said so.") is None


def test_random_clicks_never_lose_an_unconfirmed_article(library, tmp_path):
    """Upload, choose, ask to delete, confirm and cancel in random orders: after every
    step each file that left the folder is the one a confirmed delete named, and in the
    end every file on disk is indexed and the index checks clean."""
    rng = random.Random(7)
    pending, victim, deletes = None, None, 0

    def on_disk():
        return {str(p.resolve()) for p in library.seeds_dir.iterdir()}

    for step in range(80):
        before, confirmed = on_disk(), set()
        action = rng.choice(["upload", "upload_same", "choose", "ask", "confirm", "cancel"])
        ids = [v for _, v in library.snapshot().choices]
        if action == "upload":
            name = f"story{rng.randrange(6)}.txt"
            library.upload([upload_file(tmp_path, name, f"Story {step} about ferries "
                                        f"number {rng.randrange(1000)}.\n")], NOOP)
        elif action == "upload_same" and ids:
            a = library.bot.articles([rng.choice(ids)])[0]
            library.upload([upload_file(tmp_path, "again.txt", open(a.path, "rb").read())],
                           NOOP)
        elif action == "choose":
            victim = rng.choice(ids + [None, "typed id", "story1 (2)"])
            pending = None  # choosing withdraws an open question, as the page does
        elif action == "ask":
            _, pending = library.ask_delete(victim)
        elif action == "confirm":
            named = pending and library.bot.articles([pending.article_id])
            if library.confirm_delete(pending, victim).startswith("Deleted"):
                confirmed.add(named[0].path)
                deletes += 1
            pending = None
        elif action == "cancel":
            pending = None
        assert before - on_disk() == confirmed, (step, action)
    assert deletes > 0  # the walk did reach confirmed deletes
    assert on_disk() == {a.path for a in library.bot.articles()}
    assert open_store(library.bot.settings.index_dir).check() == []
