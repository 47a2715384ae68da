import pytest

from rag.answer import parser as nlp
from rag.answer.questions import classify


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


def test_specifics_are_the_names_and_numbers_the_question_fixes():
    a = asked("How many Gurkhas is Britain sending to Sri Lanka in 2005?")
    keys = [k for s in a.specifics for k in s.keys()]
    assert "Sri" in keys and "Lanka" in keys and "2005" in keys


def test_called_thought_or_added_do_not_make_a_quote_question():
    for q in ("What was the advertising campaign called?",
              "What type of image was the inventor thought to have taken?",
              "What action by the reformer added to the unrest?"):
        assert asked(q).kind != "quote", q


@pytest.mark.parametrize("question, kind", [
    ("How high did the pole vaulter clear in Lievin?", "number"),
    ("How long will the strike last?", "number"),
    ("How old is the striker?", "number"),
    ("What time did the hurdler run to win the title?", "when"),
    ("Which outlet did he say it to?", "who"),
])
def test_measures_times_and_the_noun_asked_about_route_the_question(question, kind):
    assert asked(question).kind == kind


def test_a_role_someone_has_is_a_speaker():
    coach = asked("What did her coach tell the Times?")
    assert coach.kind == "quote" and coach.speaker_roles == ("coach",)
    assert asked("What did the campaign say?").kind != "quote"
