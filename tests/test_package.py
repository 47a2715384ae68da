import subprocess
import sys


def test_import_rag_stays_light():
    code = ("import sys, rag; heavy = [m for m in ('torch', 'faiss', 'llama_cpp', 'gradio', "
            "'sentence_transformers', 'transformers') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_public_surface():
    import rag

    for name in ("Assistant", "Settings", "RagError"):
        assert name in rag.__all__ and hasattr(rag, name)


def test_settings_validate_and_read_the_environment(monkeypatch, tmp_path):
    import pytest

    from rag import Settings

    with pytest.raises(ValueError, match="chunk_tokens"):
        Settings(chunk_tokens=1000)
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "x"))
    assert Settings.from_env().index_dir == tmp_path / "x"
    assert Settings.from_env(index_dir="y").index_dir.name == "y"
