"""Which engine serves a location (rag.stores.opening)."""

import pytest

from rag.errors import IndexNotFound
from rag.stores import is_shared, open_store


@pytest.mark.parametrize("location, shared", [
    ("index", False),
    ("/srv/news/index", False),
    ("milvus-lite://index.db", False),  # in this process: nobody else writes it
    ("milvus://milvus.internal:19530/news", True),
    ("milvus+https://milvus.example.com:443/news", True),
])
def test_only_a_milvus_server_is_shared(location, shared):
    assert is_shared(location) is shared


def test_an_empty_directory_is_no_index(tmp_path):
    with pytest.raises(IndexNotFound, match="rag index"):
        open_store(tmp_path / "nothing")
