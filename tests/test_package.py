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


# -- the layout: stages, their one way in, and the faces --------------------------------

import ast  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: What each part of the library may import, lowest first. The base modules are
#: ``config``, ``errors``, ``types``, ``text`` and ``lexicon``.
BASE = {"rag.config", "rag.errors", "rag.types", "rag.text", "rag.lexicon"}
ALLOWED = {
    "base": set(),
    "stores": {"base"},
    "ingest": {"base"},
    "index": {"base", "stores", "ingest"},
    "answer": {"base", "stores", "index"},
    "assistant": {"base", "stores", "ingest", "index", "answer"},
    "evaluation": {"base", "stores", "index", "assistant", "rag"},
    "rag": {"base", "assistant"},  # the public package
}
FACES = ("rag.serve", "ui")
STAGES = ("stores", "ingest", "index", "answer")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    if module in BASE:
        return "base"
    if module == "rag":
        return "rag"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: Path) -> list[str]:
    """Every ``rag`` / ``ui`` module ``path`` imports (at any depth of the file)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] in ("rag", "ui"):
            for alias in node.names:  # ``from rag import lexicon`` imports rag.lexicon
                sub = f"{node.module}.{alias.name}"
                file = ROOT / Path(*sub.split("."))
                is_module = file.with_suffix(".py").exists() or (file / "__init__.py").exists()
                out.append(sub if is_module else node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] in ("rag", "ui")]
    return out


def _library():
    for path in sorted((ROOT / "rag").rglob("*.py")):
        module = _module(path)
        if not module.startswith(("rag.testing", "rag.serve")):
            yield module, path


@pytest.mark.parametrize(("module", "path"), list(_library()), ids=lambda x: str(x))
def test_a_stage_imports_only_stages_below_it_and_through_their_package(module, path):
    part = _part(module)
    for target in _imports(path):
        there = _part(target)
        if there == part or target == "rag" and part in ("evaluation",):
            continue
        assert there in ALLOWED.get(part, set()), f"{module} imports {target} ({there})"
        if there in STAGES:
            assert target == f"rag.{there}", f"{module} reaches into {target}: import " \
                                             f"from rag.{there}"


@pytest.mark.parametrize("path", sorted([*(ROOT / "rag" / "serve").glob("*.py"),
                                         *(ROOT / "ui").glob("*.py")]), ids=lambda p: p.name)
def test_faces_speak_only_to_the_public_package(path):
    import rag

    public = {"rag", "rag.evaluation", *(f"rag.{name}" for name in rag.__all__)}
    for target in _imports(path):
        assert target in public or target.startswith(FACES), \
            f"{path.relative_to(ROOT)} imports {target}"


def test_the_library_has_no_import_circle():
    graph = {module: {t for t in _imports(path) if t.startswith("rag")}
             for module, path in _library()}
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, " -> ".join((*trail, module))
        if module in done or module not in graph:
            return
        for target in graph[module]:
            visit(target, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())
