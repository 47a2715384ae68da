import pytest

from rag import nlp
from rag.questions import classify
from rag.text import stem


def asked(question):
    return classify(question, nlp.parse([question])[0])


@pytest.mark.parametrize("question, kind", [
    ("What did the Nato chief Mark Rutte say about Moscow?", "quote"),
    ("What has the finance minister said?", "quote"),
    ("Who will run the company from April?", "who"),
    ("Which newspaper did she speak to?", "who"),
    ("When did the bank cut rates?", "when"),
    ("In which year did it open?", "when"),  # the question word after a preposition
    # A typed noun wins over the speaking verb: a date, not what the firm announced.
    ("On what date did Vodafone announce the merger?", "when"),
    ("Which year did the factory open?", "when"),
    ("Where did the minister meet the unions?", "where"),
    ("How many stores will close?", "number"),
    ("How much did the firm pay for the stake?", "number"),
    ("What were the group's total sales last year?", "number"),
    ("Why did the shares fall?", "why"),
    ("What is the row over the airport about?", "overview"),
    ("Summarise the story about the merger.", "summary"),
    ("Can you sum up the article?", "summary"),
    ("What did the workers do?", "other"),
])
def test_the_kind_comes_from_the_question_word_and_the_noun_asked_about(question, kind):
    assert asked(question).kind == kind


def test_a_quote_question_names_its_speaker_by_surname_or_by_role():
    a = asked("What did BA chief executive Rod Eddington say about the results?")
    assert a.speaker_names == ("Eddington",) and not a.speaker_roles
    role = asked("What did the bank's chief executive say about the merger?")
    assert role.speaker_names == () and "executive" in role.speaker_roles


def test_counts_and_amounts_want_the_right_entities():
    many = asked("How many planes has the airline ordered?")
    assert many.counted == stem("planes") and many.labels == {"CARDINAL", "QUANTITY"}
    assert asked("How much did the firm pay for the stake?").labels == {"MONEY"}
    assert asked("What was the bank's net profit for 2004?").measure == "profit"
    # A share is a percentage whatever the sentence calls it ("67% of the vote").
    share = asked("What share of the vote did the candidate get?")
    assert share.labels == {"PERCENT"} and share.measure == ""


def test_specifics_are_the_names_and_numbers_the_question_fixes():
    a = asked("How many Gurkhas is Britain sending to Sri Lanka in 2005?")
    keys = [k for s in a.specifics for k in s.keys()]
    assert "Sri" in keys and "Lanka" in keys and "2005" in keys


def test_who_knows_the_verb_whose_doer_it_asks_for():
    assert asked("Who sold the hotel to the Saudi group?").subject_of == "sell"
    assert asked("Who has Vodafone picked to run Japan?").subject_of == ""


def test_a_question_about_a_saying_knows_it():
    assert asked("Which outlet did he say it to?").about_speech
    assert not asked("Which company bought the brewer?").about_speech


def test_called_thought_or_added_do_not_make_a_quote_question():
    for q in ("What was the advertising campaign called?",
              "What type of image was the inventor thought to have taken?",
              "What action by the reformer added to the unrest?"):
        assert asked(q).kind != "quote", q


def test_a_measure_a_time_and_an_age_want_their_own_entities():
    high = asked("How high did the pole vaulter clear in Lievin?")
    assert high.kind == "number" and high.labels == {"QUANTITY"}
    assert {"DURATION", "TIME_SPAN"} <= asked("How long will the strike last?").labels
    assert "AGE" in asked("How old is the striker?").labels
    # "What time ...?" / "What was her time?": a time ("7.96 seconds"), not a date.
    when = asked("What time did the hurdler run to win the title?")
    assert when.kind == "when" and "DATE" not in when.labels


def test_a_role_someone_has_is_a_speaker():
    coach = asked("What did her coach tell the Times?")
    assert coach.kind == "quote" and coach.speaker_roles == ("coach",)
    assert asked("What did the campaign say?").kind != "quote"
