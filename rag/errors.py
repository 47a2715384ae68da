"""Errors the library raises; each message says what happened and what to do next."""


class RagError(Exception):
    """Base class for every error this package raises on purpose."""


class IndexNotFound(RagError):
    """There is no index where one was expected."""


class IndexMismatch(RagError):
    """The index was built with another embedder or chunker, or another schema."""


class IndexLocked(RagError):
    """Another process is writing the index."""


class ModelNotFound(RagError):
    """A named model could not be located on this machine."""


class InvalidQuestion(RagError):
    """The question is empty, too long or otherwise unusable."""
