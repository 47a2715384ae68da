"""The reader's training examples (rag.answer.reader.data): near-misses made by swapping a
name or a number of the question for one its context does not hold."""

import random

import pytest

from rag.answer.reader import data

CONTEXT = ("The Treaty of Paris was signed in 1783 by Britain and the United States. "
           "It ended the war after eight years.")


@pytest.mark.parametrize("text, found", [
    ("It was signed by John Adams in Paris.", ["John Adams", "Paris"]),
    ("The Treaty of Paris was signed in Paris.", ["Paris"]),  # a run opening the text goes
    ("Officials said. Then Mr Brown left for Rome.", ["Rome"]),  # sentence openers are not names
    ("no names here at all.", []),
])
def test_names_are_capitalised_runs_that_do_not_open_a_sentence(text, found):
    assert data.names(text) == found


@pytest.mark.parametrize("seed", range(8))
def test_a_swapped_question_names_something_the_context_does_not_hold(seed):
    question = "When was the Treaty of Paris signed by Britain?"
    pool = ["Madrid", "Treaty of Paris", "Kenya"]
    near = data.swapped(question, CONTEXT, pool, random.Random(seed))
    assert near is not None and near != question
    changed = set(near.split()) - set(question.split())
    assert changed and not any(word in CONTEXT for word in changed)


def test_a_year_is_swapped_for_another_year():
    near = data.swapped("What happened in 1783?", CONTEXT, [], random.Random(1))
    year = near.removeprefix("What happened in ").removesuffix("?")
    assert year.isdigit() and len(year) == 4 and year != "1783" and year not in CONTEXT


def test_nothing_to_swap_gives_no_near_miss():
    assert data.swapped("What did the treaty end?", CONTEXT, ["Madrid"], random.Random(0)) is None
    assert data.swapped("Who signed for Spain?", CONTEXT, ["Madrid"], random.Random(0)) is None
