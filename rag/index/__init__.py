"""Building the index: embedding chunks and their sentences (the bundled MiniLM, run in
NumPy by ``encoder``), and bringing a store up to date with a folder of articles
(``build``), once or whenever it changes (``watching``)."""

from rag.index.build import check_compatible, index_signature, remove, sync
from rag.index.embedding import Embedder, bundled_model_path, embed_chunks, make_embedder
from rag.index.encoder import NumpyEncoder
from rag.index.watching import watch

__all__ = ["Embedder", "NumpyEncoder", "bundled_model_path", "check_compatible",
           "embed_chunks", "index_signature", "make_embedder", "remove", "sync", "watch"]
