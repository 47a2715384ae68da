import pytest

from rag.text import content_stems, content_words, idf_weight, occurrences, stem, words


@pytest.mark.parametrize("forms", [
    "elect elected elects electing", "strike strikes striking", "party parties partied",
    "vote votes voted voting", "agree agreed agrees", "run runs running",
    "study studies studied", "church churches", "stop stopped stops", "kill killed kills",
])
def test_one_stem_for_the_inflections_of_a_word(forms):
    assert len({stem(w) for w in forms.split()}) == 1


def test_stem_spares_short_words_and_non_plurals():
    assert [stem(w) for w in ("bus", "is", "crisis", "status", "says")] == [
        "bus", "is", "crisis", "status", "say"]
    assert stem("Elected") == stem("elected")


def test_a_stem_shares_all_but_its_last_letter_with_its_word():
    for w in ("parties", "spies", "voting", "agreed", "running", "churches", "studied"):
        assert w.startswith(stem(w)[:-1]), w


def test_occurrences_find_whole_words_of_the_stem_at_true_offsets():
    text = "İstanbul: they Stayed; stays, stayover, mainstay, stay_ STAY."
    found = [(k, text[pos:pos + 4]) for k, pos in occurrences(text, ["stay", "tanbul"])]
    assert found == [(0, "Stay"), (0, "stay"), (0, "STAY")]
    text = "The parties met; a party spy, two spies."
    found = [(k, text[pos:pos + 5]) for k, pos in occurrences(text, [stem("party"),
                                                                     stem("spy")])]
    assert found == [(0, "parti"), (0, "party"), (1, "spy, "), (1, "spies")]


def test_words_and_content_words():
    assert words("Mr Brown's £65,000 deal") == ["mr", "brown", "s", "65", "000", "deal"]
    assert content_words("What did the minister say?") == ["minister", "say"]
    assert content_words("What did the minister say?", drop_question_words=True) == [
        "minister"]
    assert content_stems("The ministers voted") == ["minister", "vot"]


def test_idf_is_higher_for_rarer_words_and_never_negative():
    assert idf_weight(100, 1) > idf_weight(100, 50) > idf_weight(100, 100) >= 0
