"""Load (short version of bench/load.py): 8 chat clients while articles come and go."""

import pytest

from rag import Assistant, Settings
from rag.testing.load import pick_articles, run_load
from rag.testing.server import start_server

pytestmark = pytest.mark.slow


def test_eight_clients_during_index_changes_get_whole_answers(tmp_path):
    stable, churn_pool = pick_articles(tmp_path / "pool", n_stable=8, n_churn=6, seed=1)
    proc, url, seeds = start_server(tmp_path, articles=stable)
    try:
        bot = Assistant(Settings(index_dir=tmp_path / "index", seeds_dir=seeds))
        result = run_load(url, bot, seeds, stable, churn_pool, clients=8, per_client=2, seed=1,
                          min_changes=2)
    finally:
        proc.terminate()
        proc.wait(30)
    assert result["requests"] >= 16
    assert result["errors"] == 0, result["error_examples"]
    assert result["mixed_answers"] == 0, result["mixed_examples"]
    assert result["index_changes"] >= 2, result["churn"]  # the index really changed meanwhile
    assert result["refusals"] < result["requests"]
