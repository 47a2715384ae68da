"""Run one index sync with the fake embedder; used by the crash-safety tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import FakeEmbedder  # noqa: E402

from rag.config import Settings  # noqa: E402
from rag.indexing import sync  # noqa: E402

if __name__ == "__main__":
    index_dir, articles = sys.argv[1], sys.argv[2]
    report = sync([articles], Settings(index_dir=index_dir, chunk_tokens=60), FakeEmbedder())
    print(report.to_dict())
