from conftest import ScriptedGenerator, seed_passage

from rag.answer.generation import build_prompt


def test_prompt_fits_and_never_cuts_the_question():
    p = seed_passage()
    excerpts = [(p.article, list(p.chunk.sentences))] * 3
    question = "Why did the dock workers strike " + "really " * 20 + "?"
    count = ScriptedGenerator().count_tokens
    full = build_prompt(question, excerpts, count, 10_000)
    tight = build_prompt(question, excerpts, count, count(full) - 30)
    assert count(tight) <= count(full) - 30
    assert tight.endswith(f"Question: {question}\nAnswer:")
    assert tight.count("<passage id") < full.count("<passage id") or len(tight) < len(full)
    bare = build_prompt(question, excerpts, count, 1)  # nothing fits: question stays
    assert "<passage id" not in bare and question in bare
