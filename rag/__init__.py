"""A local, cited question-answering assistant over news articles.

``import rag`` stays light: torch, faiss, llama_cpp and gradio load on first use.
"""

from .assistant import Assistant
from .config import Settings
from .errors import RagError
from .types import Answer, Article, Chunk, Citation, Filters, IndexReport, Passage

__all__ = ["Answer", "Article", "Assistant", "Chunk", "Citation", "Filters", "IndexReport",
           "Passage", "RagError", "Settings"]
__version__ = "0.1.0"
