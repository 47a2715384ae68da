"""Reading articles: files of a folder to ``Article`` records (with the skip rules for
what is not an article), and articles to ``Chunk`` records."""

from rag.ingest.articles import iter_files, load_articles, read_file
from rag.ingest.chunking import chunk_article, sentence_spans

__all__ = ["chunk_article", "iter_files", "load_articles", "read_file", "sentence_spans"]
