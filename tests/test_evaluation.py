import json

import pytest

from rag.errors import RagError
from rag.evaluation import (
    eval_answers,
    eval_retrieval,
    load_eval_file,
    normalize_answer,
    percentile,
    sample,
)
from rag.types import Answer, Article, Chunk, Citation, Passage


def answer(text, mode, citations=()):
    return Answer(text, mode, citations, (), {"total_ms": 5.0, "first_token_ms": None})


def cite(article_id, quote):
    return Citation(1, article_id, "t", None, f"/{article_id}.txt", 0, len(quote), quote)


def test_normalize_answer_is_squad_style():
    assert normalize_answer("The  \u201cBig\u201d Apple!") == "big apple"


def test_sample_is_seeded_and_keeps_file_order():
    qs = [{"id": i} for i in range(50)]
    picked = sample(qs, 10, 3)
    assert picked == sample(qs, 10, 3) and picked != sample(qs, 10, 4)
    assert [q["id"] for q in picked] == sorted(q["id"] for q in picked)
    assert sample(qs, None, 0) == qs and sample(qs, 99, 0) == qs


def test_load_eval_file_explains_what_is_wrong(tmp_path):
    with pytest.raises(RagError, match="No evaluation file"):
        load_eval_file(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(RagError, match="not valid JSON"):
        load_eval_file(tmp_path / "bad.json")
    (tmp_path / "empty.json").write_text(json.dumps({"questions": []}))
    with pytest.raises(RagError, match="neither 'docs' nor an 'articles'"):
        load_eval_file(tmp_path / "empty.json")


def test_percentile_picks_a_value():
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([1.0, 2.0], 95) == 2.0


def test_eval_retrieval_ranks_by_document():
    def passage(doc):
        return Passage(Chunk(1, doc, 0, 0, 1, "x"), Article(doc, "/x", "t", None, None, "x"), 1)

    ranking = {"q1": ["a", "b"], "q2": ["c", "a"], "q3": ["c", "d"]}
    questions = [{"question": q, "doc_id": "a"} for q in ranking] + [
        {"question": "q4", "doc_id": "a", "is_impossible": True}]
    result = eval_retrieval(lambda q, k: [passage(d) for d in ranking[q]], questions)
    assert result["questions"] == 3
    assert (result["recall@1"], result["recall@5"]) == (0.3333, 0.6667)
    assert result["mrr@10"] == round((1 + 0.5) / 3, 4)


def test_eval_answers_grades_answers_refusals_citations_and_follow_ups():
    questions = [
        {"question": "Who won?", "answers": ["Anna de Vries"], "doc_id": "a",
         "support": ["said union leader Anna de Vries"],
         "followup": {"question": "When?", "answers": ["Monday"]}},
        {"question": "Who lost?", "is_impossible": True},
        {"question": "How many?", "answers": ["4,000"], "doc_id": "a"},
    ]
    replies = {
        "Who won?": answer("Anna de Vries won. [1]", "extractive",
                           (cite("a", "said union leader Anna de Vries"),)),
        "When?": answer("On Monday. [1]", "generated", (cite("b", "On Monday."),)),
        "Who lost?": answer("I couldn't find that in the articles.", "refused"),
        "How many?": answer("I couldn't find that in the articles.", "refused"),
    }
    asked = []

    def ask(question, history):
        asked.append((question, list(history)))
        return replies[question]

    result = eval_answers(ask, questions)
    assert asked[1][0] == "When?" and asked[1][1][0].question == "Who won?"
    assert asked[1][1][0].answer_text == "Anna de Vries won. [1]"
    assert result["questions"] == 4
    assert result["answer_accuracy"] == round(2 / 3, 4)  # the refused "How many?" is wrong
    assert result["refusal_accuracy"] == 1.0
    assert result["false_refusal_rate"] == round(1 / 3, 4)
    assert result["citation_precision"] == 0.5  # the follow-up cites another article
    assert result["modes"] == {"generated": 1, "extractive": 1, "refused": 2}


SOURCE = "We only target military goals or civilian sites used by the military."


@pytest.mark.parametrize("text, mode, reason", [
    ("\u201cWe only target military goals or civilian sites used by the\u2026. [1]", "generated",
     "an ellipsis the sources do not have"),
    ("\u201cWe only target military goals or civilian sites used by the\u2026. [1]", "generated",
     "unbalanced quotation marks"),
    ("Yes <end_of_turn> [1]", "generated", "template or control tokens"),
    ("They only target military goals [1]", "generated", "cut off"),
])
def test_broken_answers_are_counted_by_the_rules(text, mode, reason):
    from rag.evaluation import broken

    found = broken(answer(text, mode, (cite("a", SOURCE),)))
    assert any(r.startswith(reason) for r in found), found


@pytest.mark.parametrize("quote", [
    SOURCE,
    # A source sentence that ends in a reference mark is whole when quoted to its end.
    "A recipient could only decline after being announced.:245",
])
def test_a_whole_quoted_sentence_is_not_broken(quote):
    from rag.evaluation import broken

    source = cite("a", quote)
    text = f"\u201c{source.quote}\u201d [1]" if quote == SOURCE else f"{source.quote} [1]"
    assert broken(answer(text, "extractive", (source,))) == []