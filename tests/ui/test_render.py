import re

from rag.types import Answer, Article, Chunk, Passage
from ui.render import escape, excerpt, render_answer


def test_escape_neutralises_html_and_markdown():
    shown = escape("<img src=x onerror=alert(1)> [click](http://evil) ![i](http://x.png)")
    assert "<img" not in shown and "&lt;img" in shown
    assert not re.search(r"(?<!\\)\]\(", shown)  # every link bracket is escaped


def test_render_refusal_without_passages():
    assert render_answer(Answer("No article matches the filters.", "refused")).startswith("**")


def passage(text: str) -> Passage:
    spans, at = [], 0
    for sentence in text.split(". "):
        end = at + len(sentence) + (1 if at + len(sentence) < len(text) else 0)
        spans.append((at, min(end, len(text))))
        at = end + 1
    article = Article("a", "/a.txt", "A title", None, None, text)
    return Passage(Chunk(1, "a", 0, 0, len(text), text, tuple(spans)), article, 1.0)


def test_excerpt_ends_at_a_sentence_or_a_word_never_inside_one():
    long_words = "But despite a settlement of 65,000 pounds the dispute went on and on"
    text = ". ".join([long_words] * 8) + "."
    shown = excerpt(passage(text), limit=150)
    assert shown.endswith("on. \u2026") and len(shown) <= 152
    one_sentence = " ".join(["word"] * 200) + "."
    cut = excerpt(passage(one_sentence), limit=100)
    assert cut.endswith("word \u2026") and len(cut) <= 102  # whole words, then an ellipsis


def test_refusal_lists_closest_passages_without_claiming_they_do_not_answer():
    text = "The club settled for 65,000 pounds. The case closed."
    shown = render_answer(Answer("I couldn't find that.", "refused", (), (passage(text),)))
    assert "Closest passages" in shown and "do not answer" not in shown
    assert "65,000 pounds." in shown
