from rag.chunking import sentence_spans
from rag.followup import about_person
from rag.grounding import Evidence
from rag.types import Article, Chunk, Passage

TEXT = ("The bank has named a lifelong employee to run it after Anna Schmidt, its boss, takes "
        "charge at the regulator.\n\n"
        "As chief operating officer, Raj Mehta will run the bank day to day. Ms Schmidt will "
        "stay on the board.\n\n"
        "Mr Mehta will serve as Ms Schmidt's deputy. However, he will be in charge of the "
        "bank's lending in Europe.\n\n"
        "He is currently in charge of the bank's branches in Asia. Ms Schmidt took charge of "
        "the bank in 2015.")


def story(scores):
    """The article as one passage, its sentences scored as given (in article order)."""
    spans = tuple(sentence_spans(TEXT))
    a = Article("a", "/a.txt", "Bank names successor", "2025-01-01", None, TEXT)
    p = Passage(Chunk(1, "a", 0, 0, len(TEXT), TEXT, spans), a, 1.0)
    evidence = [Evidence(0, s, e, TEXT[s:e], sc, sc, sc)
                for (s, e), sc in zip(spans, scores, strict=True)]
    return [p], sorted(evidence, key=lambda ev: -ev.score)


def test_a_follow_up_about_him_answers_from_a_sentence_about_him_in_its_tense():
    # The lede scores best (it holds the first question's words) and is not about him;
    # "he will be in charge" is about him but says what he will do, not what he does.
    passages, evidence = story([0.9, 0.5, 0.2, 0.3, 0.4, 0.2, 0.6])
    shown = ("a", TEXT.index("As chief"), TEXT.index(" Ms Schmidt will"))
    shaped = about_person("What is he in charge of at the moment?", "Raj Mehta",
                          evidence, passages, shown)
    assert shaped.verified.citations[0].quote == \
        "He is currently in charge of the bank's branches in Asia."
    shaped = about_person("What will he be in charge of?", "Raj Mehta", evidence,
                          passages, shown)
    assert shaped.verified.citations[0].quote.startswith("However, he will be in charge")


def test_a_sentence_about_someone_else_or_already_shown_is_no_answer():
    passages, evidence = story([0.9, 0.5, 0.2, 0.3, 0.4, 0.2, 0.6])
    shown = ("a", TEXT.index("As chief"), TEXT.index(" Ms Schmidt will"))
    # Only the shown sentence says he runs the bank; Ms Schmidt's "took charge" is hers.
    assert about_person("What will he run?", "Raj Mehta", evidence, passages, shown) is None
    shaped = about_person("What did she do in 2015?", "Anna Schmidt", evidence, passages, shown)
    assert "Ms Schmidt took charge" in shaped.verified.citations[0].quote
