"""A local, cited question-answering assistant over news articles.

``import rag`` stays light: torch, faiss, llama_cpp and gradio load on first use.
"""

from rag import lexicon
from rag.assistant import Assistant
from rag.config import SUPPORTED_SUFFIXES, Settings
from rag.errors import IndexNotFound, InvalidQuestion, RagError
from rag.types import (
                       Answer,
                       Article,
                       Chunk,
                       Citation,
                       Filters,
                       IndexReport,
                       Passage,
                       Progress,
                       Turn,
)

__all__ = ["SUPPORTED_SUFFIXES", "Answer", "Article", "Assistant", "Chunk", "Citation", "Filters",
           "IndexNotFound", "IndexReport", "InvalidQuestion", "Passage", "Progress", "RagError",
           "Settings", "Turn", "lexicon"]
__version__ = "0.1.0"
