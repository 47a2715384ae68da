import json

import pytest
from conftest import SEED, make_pdf, write

from rag.ingest.articles import decode_bytes, load_articles, parse_date, read_file


def read_one(path, max_bytes=20_000_000):
    articles, skipped = read_file(path, path.stem, max_bytes)
    return articles, skipped


def test_seed_inline_date_is_parsed_and_kept_out_of_the_text():
    [article], skipped = read_one(SEED)
    assert skipped == []
    assert article.date == "2025-04-25"
    assert article.text.startswith("Russia\u2019s Foreign Minister Sergey Lavrov")
    assert "date 2025" not in article.text[:50]
    assert article.id == "000_3945f944b8b0eeeb"


def test_first_line_is_the_title(tmp_path):
    path = write(tmp_path / "a.txt", "Ad sales boost harbour profit\n\nQuarterly profits at "
                 "the port operator rose 76% to 1.13 billion euros.\n")
    [article], _ = read_one(path)
    assert article.title == "Ad sales boost harbour profit"
    assert article.text.startswith("Quarterly profits at the port operator")


def test_latin1_file_is_decoded_with_a_warning(caplog, tmp_path):
    path = write(tmp_path / "l.txt", "Club fined\n\nThe club was fined \u00a315.8m for "
                 "breaking the rules on Friday.\n".encode("latin-1"))
    [article], skipped = read_one(path)
    assert skipped == []
    assert "\u00a315.8m" in article.text  # the pound sign survived
    assert "not UTF-8" in caplog.text


def test_key_value_header_block(tmp_path):
    path = write(tmp_path / "a.md", "Title: Budget row\nDate: 3 March 2024\nSource: "
                 "https://example.org/x\n\nThe minister said the budget was fair.\n")
    [a], _ = read_one(path)
    assert (a.title, a.date, a.source) == ("Budget row", "2024-03-03", "https://example.org/x")
    assert a.text == "The minister said the budget was fair."


def test_text_starting_with_a_colon_phrase_is_not_a_header(tmp_path):
    path = write(tmp_path / "a.txt", "Note: the talks continued on Friday.\nThey ended late.\n")
    [a], _ = read_one(path)
    assert a.text.startswith("Note: the talks")


def test_markdown_heading_title(tmp_path):
    path = write(tmp_path / "m.md", "# Storm hits coast\n\nWinds reached 120 km/h.\n")
    [a], _ = read_one(path)
    assert a.title == "Storm hits coast" and a.text == "Winds reached 120 km/h."


def test_html_main_text_without_scripts(tmp_path):
    html = """<html><head><title>Port strike ends</title><script>alert('x')</script></head>
    <body><nav>Home | World | Sport</nav><article><h1>Port strike ends</h1>
    <p>Dock workers in Rotterdam returned to work on Monday after a pay deal was agreed
    with the port authority, ending a strike that had lasted nine days.</p>
    <p>The union said members accepted a 6% rise over two years.</p></article>
    <script>document.write('evil')</script></body></html>"""
    [a], skipped = read_one(write(tmp_path / "p.html", html))
    assert skipped == []
    assert a.title == "Port strike ends"
    assert "Dock workers in Rotterdam" in a.text and "6% rise" in a.text
    assert "alert" not in a.text and "evil" not in a.text


def test_pdf_text_and_title(tmp_path):
    path = write(tmp_path / "r.pdf", make_pdf(["Inflation fell to 2.1% in May.",
                                                "The central bank held rates."],
                                               title="Inflation report"))
    [a], skipped = read_one(path)
    assert skipped == []
    assert a.title == "Inflation report"
    assert "Inflation fell to 2.1% in May." in a.text


def test_pdf_without_text_is_skipped_with_reason(tmp_path):
    articles, [s] = read_one(write(tmp_path / "scan.pdf", make_pdf([])))
    assert articles == [] and "no extractable text" in s.reason


def test_jsonl_feed_with_a_broken_line(tmp_path):
    lines = [json.dumps({"text": "First story text.", "title": "One", "date": "2024-01-02",
                         "url": "https://e.org/1"}),
             "{not json",
             json.dumps({"title": "no text"}),
             json.dumps({"id": "x9", "text": "Second story text."})]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    articles, skipped = read_one(path)
    assert [(a.id, a.title, a.date) for a in articles] == [
        ("feed#1", "One", "2024-01-02"), ("feed#x9", "Second story text.", None)]
    assert articles[0].source == "https://e.org/1"
    assert [s.path for s in skipped] == [f"{path}:2", f"{path}:3"]
    assert "invalid JSON" in skipped[0].reason and "text" in skipped[1].reason


def test_bad_files_are_skipped_and_the_rest_loaded(tmp_path):
    write(tmp_path / "good.txt", "A good article about the harbour.\n")
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "blank.md", "  \n\n \t\n")
    write(tmp_path / "binary.txt", bytes(range(256)) * 10)
    write(tmp_path / "huge.txt", "word " * 5000)
    write(tmp_path / "ignored.docx", "not a supported type")
    result = load_articles([tmp_path], max_bytes=10_000)
    assert [a.id for a in result.articles] == ["good"]
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in result.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert "whitespace" in reasons["blank.md"]
    assert "binary" in reasons["binary.txt"]
    assert "too large" in reasons["huge.txt"]
    assert "ignored.docx" not in reasons


def test_utf16_with_bom_and_ids_are_relative_paths(tmp_path):
    write(tmp_path / "sub" / "u.txt", "\ufeffHello from UTF-16.\n".encode("utf-16"))
    result = load_articles([tmp_path])
    assert [(a.id, a.text) for a in result.articles] == [("sub/u", "Hello from UTF-16.")]


def test_decode_rejects_nul_bytes():
    import pytest

    with pytest.raises(ValueError, match="binary"):
        decode_bytes(b"abc\x00\x01\x02def\x00ghi\xff\x00")


@pytest.mark.parametrize("written, date", [
    ("2025-04-25", "2025-04-25"),
    ("25 April 2025", "2025-04-25"),
    ("April 25, 2025", "2025-04-25"),
    ("Fri, 25 Apr 2025 10:00:00 +0000", "2025-04-25"),
    ("2025-02-30", None),
    ("soon", None),
])
def test_parse_date_spellings(written, date):
    assert parse_date(written) == date


@pytest.mark.parametrize("content, reason", [
    ("Just a title\n", "only a title"),
    ("Just a title", "only a title"),
    ("Harbour news\n\nRead more on our site\n", "near-empty: 5 words"),
    ("Title: A headline\n\nphoto by staff\n", "near-empty"),
])
def test_a_near_empty_file_is_skipped_with_its_reason(tmp_path, content, reason):
    path = write(tmp_path / "thin.txt", content)
    articles, skipped = read_one(path)
    assert articles == [] and reason in skipped[0].reason


@pytest.mark.parametrize("content", [
    "The harbour strike ended.\n",  # a brief: one full sentence
    "Harbour news\n\nThe strike in Rotterdam ended on Monday, the union said.\n",
    " ".join(["word"] * 25) + "\n",  # enough words, punctuation or not
])
def test_a_short_article_with_a_sentence_is_kept(tmp_path, content):
    articles, skipped = read_one(write(tmp_path / "brief.txt", content))
    assert len(articles) == 1 and skipped == []
