from rag import nlp
from rag.instances import numbered, said_of_another


def test_numbered_names_are_a_series_word_and_its_number():
    assert numbered("Who won Super Bowl 50?") == {("bowl", 50.0)}
    assert numbered("Bart Starr (MVP of Super Bowls I and II)") == {("bowl", 1.0)}
    assert numbered("Super Bowl XLI") == {("bowl", 41.0)}
    assert numbered("Who won the men's 100m?") == {("m", 100.0)}
    # Amounts, dates, ordinals and decades are not numbered names.
    assert numbered("It paid $100m in March 2005, the 21st deal of the 1990s.") == set()


def test_an_entity_is_said_of_the_series_member_its_own_clause_names():
    doc = nlp.parse(["Smith won 200m gold in Sydney, while Jones won silver in the 100m."])[0]
    smith, jones = (next(e for e in doc.ents if e.text == n) for n in ("Smith", "Jones"))
    asked = numbered("Who won the 100m?")
    assert said_of_another(smith, asked)
    assert not said_of_another(jones, asked)
    assert not said_of_another(smith, set())
