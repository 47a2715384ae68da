"""A chunk's vector and its sentences' vectors from one pass (rag.index.pooling)."""

import numpy as np
import pytest

from rag.index.pooling import CONTEXT_SHARE, pool

# Five tokens: [CLS], two of "Ab", two of "cd", then [SEP]; offsets into "Ab cd".
STATES = np.array([[1, 0, 0], [0, 2, 0], [0, 2, 0], [0, 0, 3], [0, 0, 3], [1, 1, 1]],
                  dtype=np.float32)
OFFSETS = np.array([[0, 0], [0, 1], [1, 2], [3, 4], [4, 5], [0, 0]])


def test_the_chunk_vector_is_the_normalised_mean_of_every_state():
    whole, _ = pool(STATES, OFFSETS, [])
    mean = STATES.mean(0)
    assert np.allclose(whole, mean / np.linalg.norm(mean))


@pytest.mark.parametrize("span, rows", [((0, 2), [1, 2]), ((3, 5), [3, 4]), ((0, 5), [1, 2, 3, 4])])
def test_a_sentence_is_its_own_word_pieces_less_a_share_of_the_chunk(span, rows):
    _, [vector] = pool(STATES, OFFSETS, [span])
    own = STATES[rows].mean(0) - CONTEXT_SHARE * STATES.mean(0)
    assert np.allclose(vector, own / np.linalg.norm(own), atol=1e-6)
    assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5


def test_a_sentence_the_pass_did_not_read_has_no_vector():
    _, sentences = pool(STATES, OFFSETS, [(0, 2), (6, 9)])
    assert sentences[0] is not None and sentences[1] is None


def test_states_and_offsets_must_match():
    with pytest.raises(ValueError, match="6 token states for 5 tokens"):
        pool(STATES, OFFSETS[:5], [(0, 2)])
