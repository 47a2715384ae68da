import numpy as np
import pytest
from conftest import TEXT, seed_passage

from rag.answer.citations import (
    Evidence,
    Gate,
    Scoring,
    negation_mismatch,
    sentence_evidence,
    split_claims,
    support,
    verify,
)
from rag.answer.retrieval import WordStats
from rag.ingest.chunking import sentence_spans
from rag.types import Article, Chunk, Passage


def test_split_claims_and_markers():
    assert split_claims("Workers struck [1]. The union spoke [2][1].") == [
        ("Workers struck.", [1]), ("The union spoke.", [2, 1])]


@pytest.mark.parametrize("claim, low, high", [
    ("Dock workers in Rotterdam went on strike.", 1.0, 1.0),
    ("The union said 5,000 members walked out.", 0.0, 0.0),  # wrong number
    ("\u201cWe will never go back,\u201d she said.", 0.0, 0.0),  # misquote
    ("Rotterdam dock workers walked out over a pay cut.", 0.0, 0.999),  # paraphrase
])
def test_support_rules(claim, low, high):
    assert low <= support(claim, TEXT) <= high


def test_verify_drops_a_quotation_cut_off_inside_the_sentence():
    text = ("Dock workers went on strike. Anna de Vries said: \u201cWe thank St. Mary's "
            "hospital staff and will not go back for less.\u201d She added: \u201cThe pay "
            "offer is an insult.\u201d")
    p = [seed_passage(text)]
    # The draft's sentence is split at an abbreviation: each half's marks do not pair up.
    checked = verify("\u201cWe thank St. Mary's hospital staff and will not go back for "
                     "less.\u201d [1] Dock workers went on strike [1].", p)
    assert checked.text == "Dock workers went on strike. [1]"
    whole = verify("She added: \u201cThe pay offer is an insult.\u201d [1]", p)
    assert whole.text == "She added: \u201cThe pay offer is an insult.\u201d [1]"


def test_verify_keeps_supported_recites_and_drops_invented():
    p = [seed_passage()]
    checked = verify("Dock workers in Rotterdam went on strike [1]. "
                     "The union said 4,000 members walked out. "  # uncited: re-cited to [1]
                     "The mayor called the strike illegal [1].", p)  # invented: dropped
    assert checked.text == ("Dock workers in Rotterdam went on strike. [1] "
                            "The union said 4,000 members walked out. [2]")
    assert [c.quote for c in checked.citations] == [TEXT[0:61], TEXT[62:96]]
    assert all(TEXT[c.start:c.end] == c.quote for c in checked.citations)


def evidence(dense, overlap, score=None):
    score = 0.5 * dense + 0.5 * overlap if score is None else score
    return Evidence(0, 0, 10, "A sentence.", dense, overlap, score)


def test_gate_needs_the_question_words_and_a_sentence_close_in_meaning():
    gate = Gate()
    assert not gate.answerable([])
    # Names nothing the articles hold: refused however close the wording.
    assert not gate.answerable([evidence(0.9, 0.1)])
    # Holds some of the words but no sentence is close in meaning: refused ...
    assert not gate.answerable([evidence(0.40, 0.6), evidence(0.35, 0.2)])
    # ... unless another sentence is.
    assert gate.answerable([evidence(0.40, 0.6), evidence(0.7, 0.2, score=0.4)])
    # "What did Rutte say?": every word in one sentence, far in meaning: answerable.
    assert gate.answerable([evidence(0.5, 1.0)])
    # A weak best sentence is refused even with all its words.
    assert not gate.answerable([evidence(0.1, 1.0, score=0.4)])
    # The gate judges the strongest sentence before the article ranking counts against it:
    # a strong sentence of the second article keeps the question answerable.
    first = Evidence(0, 0, 10, "A sentence.", 0.6, 0.2, 0.4)
    second = Evidence(1, 0, 10, "Another.", 0.6, 0.6, 0.4, strength=0.6)
    assert gate.answerable([first, second])
    assert not gate.answerable([first, Evidence(1, 0, 10, "Another.", 0.6, 0.6, 0.4)])
    # The strongest sentence lacks the question's words but a nearly as strong one holds
    # them: answerable (the strongest alone would refuse).
    wordless = Evidence(0, 0, 10, "A sentence.", 0.6, 0.2, 0.5)
    assert gate.answerable([wordless, evidence(0.6, 0.48, score=0.49)])
    assert not gate.answerable([wordless, evidence(0.6, 0.48, score=0.40)])


def test_follow_up_evidence_prefers_what_comes_next_to_the_last_answer():

    text = ("Lavrov said talks were moving. \u201cWe are ready,\u201d Lavrov said in an interview "
            "with CBS News. Lavrov said Kiev must agree. Lavrov said more talks would follow.")

    spans = tuple(sentence_spans(text))
    assert len(spans) == 4
    a = Article("a", "/a.txt", "t", None, None, text)
    passages = [Passage(Chunk(1, "a", 0, 0, len(text), text, spans), a, 1.0)]
    def flat(texts):
        return np.ones((len(texts), 4), dtype=np.float32) / 2  # every sentence alike
    idf = WordStats(10, lambda t: {"lavrov": 4, "news": 1}.get(t.strip('"'), 0))
    query = "What did Lavrov say? Which outlet did he say it to?"
    # Without the conversation, "outlet" (in no article) sinks every sentence's overlap.
    plain = sentence_evidence(query, passages, flat, idf)
    assert plain[0].overlap < 0.5
    said = f"\u201c{text[slice(*spans[0])]}\u201d [1]"
    follow = sentence_evidence(query, passages, flat, idf, said=said, unknown_optional=True)
    assert follow[0].overlap == 1.0 and "CBS News" in follow[0].text
    # An unknown name is never optional: "Macron" still counts against every sentence.
    named = sentence_evidence("What did Macron say to him?", passages, flat, idf,
                              unknown_optional=True)
    assert named[0].overlap == 0.0


def test_evidence_reuses_retrievals_cosines_and_query_vector_and_embeds_only_the_rest():
    def passage(cid, text):
        a = Article(f"a{cid}", f"/a{cid}.txt", "t", None, None, text)
        return Passage(Chunk(cid, a.id, 0, 0, len(text), text, ((0, len(text)),)), a, 1.0)

    passages = [passage(1, "Ports closed."), passage(2, "Talks resumed.")]
    embedded = []

    def embed(texts):
        embedded.extend(texts)
        return np.array([[0.6, 0.8]] * len(texts), dtype=np.float32)

    # Retrieval already has the question's vector and chunk 1's sentence cosines.
    evidence = sentence_evidence("Why?", passages, embed, WordStats(10, lambda t: 1),
                                 query_vector=np.array([1.0, 0.0], dtype=np.float32),
                                 cosines={1: np.array([0.3], dtype=np.float32)})
    assert embedded == ["Talks resumed."]
    assert {e.text: round(e.dense, 3) for e in evidence} == {"Ports closed.": 0.3,
                                                             "Talks resumed.": 0.6}
    # Without them the question is embedded with the sentences, once.
    embedded.clear()
    sentence_evidence("Why?", passages, embed, WordStats(10, lambda t: 1))
    assert embedded == ["Why?", "Ports closed.", "Talks resumed."]


def test_the_top_ranked_article_wins_unless_another_scores_clearly_higher():

    def passage(cid, article, text):
        a = Article(article, f"/{article}.txt", "t", None, None, text)
        return Passage(Chunk(cid, a.id, 0, 0, len(text), text, ((0, len(text)),)), a, 1.0)

    # Retrieval ranked article a first; b's sentence is a little closer to the question.
    passages = [passage(1, "a", "Ports closed."), passage(2, "b", "Talks resumed."),
                passage(3, "a", "Ships waited.")]

    def embed(texts):
        rows = {"Ports closed.": [0.70, 0.71], "Talks resumed.": [0.8, 0.6],
                "Ships waited.": [0.72, 0.69]}
        return np.array([[1.0, 0.0]] + [rows[t] for t in texts[1:]], dtype=np.float32)

    evidence = sentence_evidence("Why?", passages, embed, WordStats(10, lambda t: 1))
    assert [e.text for e in evidence] == ["Ports closed.", "Ships waited.", "Talks resumed."]
    # Another article's sentence is preferred only when it is clearly better.
    gap = Scoring().article_prior + 0.1

    def embed_far(texts):
        rows = {"Ports closed.": [0.2, 0.98], "Talks resumed.": [0.2 + 2 * gap, 0.5],
                "Ships waited.": [0.1, 0.99]}
        return np.array([[1.0, 0.0]] + [rows[t] for t in texts[1:]], dtype=np.float32)

    evidence = sentence_evidence("Why?", passages, embed_far, WordStats(10, lambda t: 1))
    assert evidence[0].text == "Talks resumed."


@pytest.mark.parametrize("question, sentence, mismatch", [
    ("Who did not attend the summit?", "Macron attended the summit.", True),
    ("Which country never signed it?", "France signed it in 1990.", True),
    ("Who didn't vote?", "Only Britain abstained.", False),
    ("Who did not attend the summit?", "Macron did not attend the summit.", False),
    ("Who refused to attend?", "Macron attended the summit.", False),
    ("Who attended the summit?", "Nobody attended the summit.", False),
])
def test_negation_mismatch(question, sentence, mismatch):

    assert negation_mismatch(question, sentence) is mismatch


def test_gate_refuses_a_negated_question_that_the_best_sentence_does_not_negate():
    best = Evidence(0, 0, 10, "Macron attended the summit.", 0.8, 1.0, 0.9)
    assert Gate().answerable([best], "Who attended the summit?")
    assert not Gate().answerable([best], "Who did not attend the summit?")
    assert Gate(check_negation=False).answerable([best], "Who did not attend the summit?")
