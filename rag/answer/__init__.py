"""Answering a question: retrieving passages, reading the question, reading the answer out
of the passages (the trained reader), verifying each citation, and wording with a local
model or a pool of model servers."""

from rag.answer.answerer import Answerer
from rag.answer.generation import LlamaGenerator
from rag.answer.model_servers import OpenAIGenerator, api_key
from rag.answer.parser import parse
from rag.answer.retrieval import CrossEncoderReranker, Retriever


def warm_up() -> None:
    """Load the question parser and the reader now, so the first question does not wait."""
    from rag.answer import parser
    from rag.answer.reader.reading import shared_reader

    parser.load()
    shared_reader().load()


__all__ = ["Answerer", "CrossEncoderReranker", "LlamaGenerator", "OpenAIGenerator", "Retriever",
           "api_key", "parse", "warm_up"]
