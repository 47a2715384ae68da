"""The reader: a span model with a "no answer" score, trained here on SQuAD v1.1 train
(``python -m rag.answer.reader.train``), shipped in ``model/`` and run in NumPy at question time.

- ``features``: how a question and a passage become the model's input, and logits a span;
- ``model``: the NumPy reader over the shipped weights (``Reader.read``);
- ``reading``: the answer the pipeline gives from it (``read_answer``);
- ``data`` and ``train``: the training data and command; ``evaluate``: the reader alone on
  an evaluation file.
"""
