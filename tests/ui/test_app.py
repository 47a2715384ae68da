from conftest import FakeEmbedder, ScriptedGenerator, write

from rag import Assistant


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


def test_a_date_filter_over_undated_articles_says_so(app):
    write(app.seeds_dir / "nodate.txt", "Harbour strike news from Rotterdam, with no date.\n")
    app.bot.index([app.seeds_dir])
    reply = list(app.respond("What about the harbour strike?", [], "2030-01-01", "", []))[-1]
    assert "No article matches the filters" in reply
    assert "1 of the 2 articles have no date" in reply


def test_poll_refreshes_only_when_another_process_changed_the_index(app):
    views = app.refreshed("")
    shown = views[-1]
    assert all(v is not None and getattr(v, "get", lambda k: None)("__type__") == "update"
               for v in app.poll(shown, [], None))  # nothing changed: every output skipped
    # Another writer (here: a second Assistant, as `rag index` in a shell would be).
    write(app.seeds_dir / "new.txt", "Ferry news: the new ferry to Hull starts in May.\n")
    Assistant(app.bot.settings, embedder=FakeEmbedder()).index([app.seeds_dir])
    message, status, rows, victim, chosen, examples, generation = app.poll(shown, [], None)
    assert generation != shown and "**2** articles" in status
    assert "new" in [r[0] for r in rows] and ("Ferry news: the new ferry to Hull starts in "
                                              "May. \u00b7 undated \u00b7 new", "new") \
        in victim["choices"]


def test_a_follow_up_on_the_page_sees_the_answer_itself(app):
    """Gradio hands back the rendered reply (with its Sources); the library gets the
    Answer that was rendered, the same previous answer a follow-up gets through ask()."""
    *_, shown = list(app.respond("What did Lavrov say?", []))
    history = [{"role": "user", "content": [{"type": "text", "text": "What did Lavrov say?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": shown}]}]
    [turn] = app.turns(history)
    assert turn.question == "What did Lavrov say?" and turn.answer is app._shown[shown]
    assert "Sources" in shown and "Sources" not in turn.answer_text
    # A reply rendered by an earlier server: its Sources block and escapes are dropped.
    old = "He said \\*no\\*. \\[1\\]\n\n**Sources**\n\n**[1] A title** (undated)"
    history[1]["content"] = old
    assert app.turns(history)[0].answer == "He said *no*. [1]"
