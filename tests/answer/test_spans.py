from test_shapes import asked

from rag.answer.spans import extend_quote, holds, paragraph


def test_a_quotation_is_quoted_to_its_closing_mark():
    text = ('Intro.\n\nHe said: "We are ready. We will sign it today," Mr Lavrov said. '
            "Then he left.")
    start = text.index("He said")
    first_end = text.index("ready.") + len("ready.")
    s, e = extend_quote(text, start, first_end)
    assert text[s:e] == 'He said: "We are ready. We will sign it today," Mr Lavrov said.'
    inner = text.index("We will")
    s, e = extend_quote(text, inner, text.index("Mr Lavrov said.") + len("Mr Lavrov said."))
    assert text[s:e].startswith('"We are ready.')
    assert paragraph(text, start, first_end) == (8, len(text))


def test_specifics_hold_by_stem_number_or_one_letter_apart():
    a = asked("How many Grammys did the ARPNET team win in 2015?")
    assert holds(a, "The ARPANET team won six Grammy awards in 2015.")
    assert not holds(a, "The ARPANET team won six Grammy awards in 2016.")


def test_a_person_the_answer_must_name_may_be_he_or_she_in_it():
    from dataclasses import replace

    from rag.answer.questions import Specific

    # "And when did he resign?" after an answer about Charlie Bell: he must be named in
    # the answer's own sentence, or be its "he", named in its paragraph.
    a = asked("And when did he resign?")
    a = replace(a, specifics=(Specific("Charlie Bell", "PERSON", near=True),))
    paragraph_text = "Mr Bell was diagnosed in May. He resigned in November."
    assert holds(a, paragraph_text, "He resigned in November.")
    assert holds(a, paragraph_text, "Mr Bell resigned in November.")
    assert not holds(a, paragraph_text, "The board met in November.")
    assert not holds(a, "The chairman was diagnosed in May. He resigned in November.",
                     "He resigned in November.")
