"""The faces that serve people and programs: the ``rag`` command, the chat page and
OpenAI-compatible API served together (``app``), and that API's routes."""
