from test_shapes import asked, story

from rag.speech import quotes


def test_a_speaker_s_own_statements_and_never_another_speaker_s():
    text = ("Lord Butler attacked the government's use of intelligence.\n\n"
            "\u201cThe process was too informal,\u201d Lord Butler said.\n\n"
            "Boris Johnson defended the prime minister. \u201cHe acted in good faith,\u201d "
            "he said.")
    passages, evidence = story(text, [0.5, 0.9, 0.6, 0.7])
    shaped = quotes(asked("What did Boris Johnson say about Lord Butler's attack?"),
                    evidence, passages)
    assert [c.quote for c in shaped.verified.citations] == [
        "\u201cHe acted in good faith,\u201d he said."]
    nobody = quotes(asked("What did Gordon Brown say about Lord Butler's attack?"),
                    evidence, passages)
    assert nobody is None
