import json

import pytest
from conftest import FakeEmbedder, write

from rag import Assistant, Settings
from rag.answer.retrieval import focus, fuse, group, query_pairs, query_words
from rag.types import Article, Chunk, Filters, Passage


def passage(article_id, text, score=1.0, cid=None):
    a = Article(article_id, f"/{article_id}.txt", article_id, None, None, text)
    return Passage(Chunk(cid or hash((article_id, text)) & 0xFFFF, article_id, 0, 0,
                         len(text), text), a, score)


def test_fuse_scores_every_candidate_on_both_signals():
    # Chunk 1 is best by meaning, chunk 2 by words, chunk 3 is decent on both.
    dense = {1: 0.9, 2: 0.3, 3: 0.7}
    lexical = {1: 0.0, 2: 10.0, 3: 8.0}
    fused = fuse([1, 2, 3], dense, lexical, 0.5)
    assert max(fused, key=fused.get) == 3
    assert fused[1] == pytest.approx(0.5)  # dense normalised to 1, no lexical score
    assert fuse([1, 2, 3], dense, lexical, 1.0) == pytest.approx(
        {1: 1.0, 2: 0.3 / 0.9, 3: 0.7 / 0.9})


def test_fuse_adds_best_sentence_and_focus():
    dense = {1: 0.8, 2: 0.8}
    lexical = {1: 5.0, 2: 5.0}
    fused = fuse([1, 2], dense, lexical, 0.5, sentences={1: 0.4, 2: 0.8},
                 sentence_weight=1.0, focused={1: 1.0}, focus_weight=0.25)
    assert fused == pytest.approx({1: 1.0 + 0.5 + 0.25, 2: 1.0 + 1.0})


def test_focus_rewards_one_sentence_holding_the_rare_words():
    def chunk(cid, *sentences):
        text = " ".join(sentences)
        spans, at = [], 0
        for s in sentences:
            spans.append((at, at + len(s)))
            at += len(s) + 1
        return Chunk(cid, f"a{cid}", 0, 0, len(text), text, tuple(spans))

    chunks = {
        # "Broncos" is in every chunk: it tells them apart least.
        1: chunk(1, "The Broncos stayed at the Santa Clara Marriott hotel.", "They won."),
        2: chunk(2, "The Broncos practiced at a hotel.", "The Marriott was nearby."),
        3: chunk(3, "The Broncos won the game.", "Fans cheered."),
    }
    scores = focus("Which hotel did the Broncos stay at?", chunks)
    assert scores[1] == pytest.approx(1.0)
    assert scores[3] < scores[2] < scores[1]
    assert focus("the of", {}) == {} and focus("?", chunks) == {}


def test_group_caps_per_article_and_drops_duplicate_texts():
    ps = [passage("a", "one"), passage("a", "two"), passage("a", "three"),
          passage("b", "one"), passage("c", "four")]
    assert [(p.article.id, p.chunk.text) for p in group(ps, 5, 2)] == [
        ("a", "one"), ("a", "two"), ("c", "four")]
    assert len(group(ps, 2, None)) == 2


def test_query_words_and_pairs_are_plain_words():
    assert query_words("What did Rutte say? Rutte!") == ["rutte", "say"]
    assert query_words('the "of"') == ["the", "of"]  # only stopwords: keep them
    assert query_words("?!") == []
    assert query_pairs("What did Rutte say?") == [("did", "rutte"), ("rutte", "say")]


@pytest.fixture
def bot(tmp_path):
    folder = tmp_path / "news"
    write(folder / "strike.txt", "date 2025-04-10 Dock workers in Rotterdam went on strike "
          "over pay.\n")
    write(folder / "vote.txt", "date 2025-04-30 Parliament passed the budget after a long "
          "debate.\n")
    write(folder / "storm.txt", "date 2025-05-02 A storm closed the port of Rotterdam.\n")
    write(folder / "undated.txt", "Rotterdam harbour news without a date.\n")
    assistant = Assistant(Settings(index_dir=tmp_path / "index", chunk_tokens=60),
                          embedder=FakeEmbedder())
    assistant.index([folder])
    return assistant


def test_hybrid_search_finds_the_matching_article(bot):
    [top, *_] = bot.search("Why did Rotterdam dock workers strike?", k=3)
    assert top.article.id == "strike"


def test_date_filters_are_inclusive(bot):
    ids = {p.article.id for p in bot.search("Rotterdam", k=10,
                                            filters=Filters(since="2025-04-10",
                                                            until="2025-04-30"))}
    assert ids == {"strike", "vote"} or ids == {"strike"}  # vote has no query word
    assert "storm" not in ids and "undated" not in ids
    only_may = bot.search("Rotterdam", k=10, filters=Filters(since="2025-05-02"))
    assert [p.article.id for p in only_may] == ["storm"]


def test_article_filter_and_empty_results(bot):
    assert [p.article.id for p in bot.search("Rotterdam", 10, Filters(articles=("vote",)))] \
        == ["vote"]
    assert bot.search("Rotterdam", 10, Filters(articles=("no-such-article",))) == []
    assert bot.search("Rotterdam", 10, Filters(since="2030-01-01")) == []


def test_bad_filter_values_are_refused():
    with pytest.raises(ValueError, match="since"):
        Filters(since="last week")
    with pytest.raises(ValueError, match="after until"):
        Filters(since="2025-05-01", until="2025-04-01")


EVAL_DOCS = {
    "source": "tiny test set",
    "docs": [
        {"id": "harbour", "title": "Harbour", "text": "Dock workers in Rotterdam went on "
         "strike over pay on Monday."},
        {"id": "budget", "title": "Budget", "text": "Parliament passed the budget after a "
         "long debate about taxes."},
        {"id": "storm", "title": "Storm", "text": "A violent storm closed the airport and "
         "cancelled flights."},
    ],
    "questions": [
        {"id": "q1", "question": "Why did dock workers strike?", "answers": ["pay"],
         "is_impossible": False, "doc_id": "harbour"},
        {"id": "q2", "question": "What did parliament pass?", "answers": ["budget"],
         "is_impossible": False, "doc_id": "budget"},
        {"id": "q3", "question": "What closed the airport?", "answers": ["storm"],
         "is_impossible": False, "doc_id": "storm"},
        {"id": "q4", "question": "Who won the cup final?", "answers": [],
         "is_impossible": True, "doc_id": None},
        # Answerable, but phrased with none of its document's words: ranked last.
        {"id": "q5", "question": "Which vessels sailed?", "answers": ["x"],
         "is_impossible": False, "doc_id": "harbour"},
    ],
}


def test_eval_retrieval_command_exact_figures_and_cache(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rag.serve import cli as cli_module

    fake = FakeEmbedder()
    monkeypatch.setattr("rag.assistant.make_embedder", lambda *a, **k: fake)
    data = write(tmp_path / "tiny.json", json.dumps(EVAL_DOCS))
    misses = tmp_path / "misses.jsonl"
    args = ["eval", "retrieval", "--data", str(data), "--json", "--misses", str(misses)]
    result = CliRunner().invoke(cli_module.cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["questions"] == 4  # the impossible one is not asked
    # q1-q3 rank their document first; q5 has no word in common with any document, so its
    # document comes wherever the fake's dense score puts it (never first: see misses).
    [miss] = [json.loads(line) for line in misses.read_text().splitlines()]
    assert miss["id"] == "q5" and miss["rank"] != 1
    assert report["recall@1"] == 0.75
    expected_mrr = round((3 + (1 / miss["rank"] if miss["rank"] else 0)) / 4, 4)
    assert report["mrr@10"] == expected_mrr
    assert report["recall@10"] == (1.0 if miss["rank"] else 0.75)
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert list((tmp_path / "cache" / "eval").iterdir())  # the index went to the cache
    embedded = fake.embedded
    again = CliRunner().invoke(cli_module.cli, args)
    assert json.loads(again.stdout) | {"latency_ms": None} == report | {"latency_ms": None}
    # Only the 4 questions were embedded the second time: the documents came from the cache.
    assert fake.embedded - embedded == 4
