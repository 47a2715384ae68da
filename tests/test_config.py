import pytest

from rag import Settings


@pytest.mark.parametrize("field, value, message", [
    ("gate_min_dense", 1.5, "gate_min_dense must be between 0 and 1"),
    ("article_prior", -0.1, "article_prior must be between 0 and 1"),
    ("reader_passages", 0, "reader_passages must be greater than 0"),
    ("lexical_depth", 0, "lexical_depth must be greater than 0"),
    ("repeat_penalty", 0.5, "repeat_penalty must be at least 1"),
    ("temperature", 3.0, "temperature must be between 0 and 2"),
    ("chunk_tokens", 300, "chunk_tokens must be between 16 and 254"),
])
def test_a_bad_setting_is_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        Settings(**{field: value})


def test_the_pipeline_reads_its_thresholds_from_settings():
    from rag.answer.citations import Gate, Scoring

    s = Settings(gate_min_dense=0.6, article_prior=0.3, follow_up_boost=0.1)
    assert Gate.from_settings(s).min_dense == 0.6 and Gate().min_dense == 0.45
    assert Scoring.from_settings(s) == Scoring(0.5, 0.02, 0.3, 0.1)


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "smollm2-135m")
    assert Settings.from_env().model == "smollm2-135m"
    assert Settings.from_env(model="x.gguf").model == "x.gguf"
