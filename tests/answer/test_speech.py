from test_shapes import asked, story

from rag.answer.speech import quotes, statements


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


def test_he_said_is_the_person_the_sentence_before_is_about_and_ranks_with_him():
    text = ("Paolo Conte of Italy said the ministers feared the falling dollar would hurt "
            "exports. \u201cThese developments are destabilising for our economies,\u201d "
            "he said.\n\nBut that was not enough for Mr Conte.\n\n"
            "\u201cIf the Americans want a change, it is up to them to say so,\u201d he said.")
    passages, evidence = story(text, [0.8, 0.1, 0.7, 0.1])
    question = asked("What did Paolo Conte say about the falling dollar?")
    his = statements(question, sorted(evidence, key=lambda ev: ev.start), passages)
    assert [text[s:e][:9] for _, (s, e), _ in his] == [
        "Paolo Con", "\u201cThese de", "\u201cIf the A"]
    # "..., he said." ranks just below where he was named, not by its own words.
    assert [round(score, 2) for *_, score in his] == [0.0, 0.8, 0.7]
    shaped = quotes(question, evidence, passages)
    quotes_ = [c.quote for c in shaped.verified.citations]
    assert quotes_[0].startswith("\u201cThese developments")  # his own words first
    assert any(q.startswith("Paolo Conte of Italy said") for q in quotes_)


def test_he_said_after_a_sentence_naming_a_host_is_still_the_speaker():
    text = ("Finance minister Peter Johnson is visiting London this week. At a dinner "
            "hosted by Gordon Brown, he said exchange rates should float. \u201cFlexible "
            "exchange rates absorb shocks of every kind,\u201d he told the dinner.")
    passages, evidence = story(text, [0.3, 0.9, 0.65])
    assert quotes(asked("What did Gordon Brown say about exchange rates?"),
                  evidence, passages) is None
    shaped = quotes(asked("What did Mr Johnson say about exchange rates?"), evidence, passages)
    assert len(shaped.verified.citations) == 2


def test_what_a_speaker_said_about_something_the_story_never_names_is_no_answer():
    text = ("Education Secretary Ruth Kelly spoke about discipline.\n\n"
            "\u201cTeachers must be able to remove disruptive pupils,\u201d Ms Kelly said.")
    passages, evidence = story(text, [0.5, 0.9])
    assert quotes(asked("What did Ruth Kelly say about university tuition fees?"),
                  evidence, passages) is None
    shaped = quotes(asked("What did Ruth Kelly say about disruptive pupils?"), evidence,
                    passages)
    assert shaped.verified.citations[0].quote.startswith("\u201cTeachers must")


def test_she_said_is_the_subject_not_the_one_named_as_its_owner():
    text = ("Sylvester Stallone's ex-wife Brigitte Nielsen nominated both John and Bez. "
            "She said: \u201cBez is a difficult human being, there is something wrong with "
            "him.\u201d")
    passages, evidence = story(text, [0.5, 0.9])
    shaped = quotes(asked("What did Brigitte Nielsen say about Bez?"), evidence, passages)
    assert shaped.verified.citations[0].quote.startswith("She said:")
    assert quotes(asked("What did Sylvester Stallone say about Bez?"), evidence,
                  passages) is None


def test_his_own_words_count_when_no_other_sentence_scores_near_the_one_naming_him():
    # Only the sentence naming him is near the top: the quotation "he said" attributes to
    # him still ranks just below it, and comes first (his own words).
    text = ("Paolo Conte of Italy said the ministers feared the falling dollar would hurt "
            "exports. \u201cThese developments are destabilising for our economies,\u201d "
            "he said.\n\nBut that was not enough for Mr Conte.")
    passages, evidence = story(text, [0.8, 0.1, 0.3])
    shaped = quotes(asked("What did Paolo Conte say about the falling dollar?"), evidence,
                    passages)
    found = [c.quote for c in shaped.verified.citations]
    assert found[0].startswith("\u201cThese developments") and len(found) == 2
