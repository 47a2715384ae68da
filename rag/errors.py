"""Errors the library raises; each message says what happened and what to do next."""


class RagError(Exception):
    """Base class for every error this package raises on purpose."""


class IndexNotFound(RagError):
    """There is no index where one was expected."""


class IndexMismatch(RagError):
    """The index was built with another embedder or chunker, or another schema.

    ``outdated`` is true when only the index's format is older than this code's, which
    a rebuild from the same articles fixes without the user choosing anything.
    """

    def __init__(self, message: str, outdated: bool = False):
        super().__init__(message)
        self.outdated = outdated


class IndexLocked(RagError):
    """Another process is writing the index."""


class ModelNotFound(RagError):
    """A named model could not be located on this machine."""


class InvalidQuestion(RagError):
    """The question is empty, too long or otherwise unusable."""


class ArticleNotFound(RagError):
    """No article with that exact id is in the index."""


class ModelServerError(RagError):
    """An OpenAI-compatible model server could not give a completion; the message names
    the server."""


class ModelServerDown(ModelServerError):
    """No model server accepted the connection."""


class ModelServerTimeout(ModelServerError):
    """A model server took longer than ``Settings.llm_timeout``."""


class ModelServerReply(ModelServerError):
    """A model server answered with an error or with something that is not a completion."""


class StoreUnavailable(RagError):
    """The index's server (Milvus) does not answer; the message names it."""
