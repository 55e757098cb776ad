"""The spaCy CNN baseline recipe (`train --recipe cnn`): with and without static vectors."""
import logging

import pytest
import spacy

from spacy_cbio.train.pipeline import build_train_config, train_pipeline
from spacy_cbio.train.testing import write_toy_corpus

FEW_STEPS = {"training.max_steps": 3, "training.eval_frequency": 1,
             "components.tok2vec.model.encode.width": 32, "components.tok2vec.model.encode.depth": 2}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_corpus(tmp_path_factory.mktemp("toy_corpus"))


def test_cnn_without_vectors_trains(toy, tmp_path):
    train_pipeline(tmp_path, overrides={**toy, **FEW_STEPS}, recipe="cnn", threads=1)
    nlp = spacy.load(tmp_path / "model-best")
    assert nlp.pipe_names == ["tok2vec", "ner"]
    assert nlp.get_pipe_meta("ner").factory == "ner"
    assert nlp.config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is False
    assert nlp.vocab.vectors.shape[0] == 0
    assert set(nlp.get_pipe("ner").labels) == {"CHEM", "DISO"}
    assert spacy.util.srsly.read_json(tmp_path / "run.json")["recipe"] == "cnn"


def test_cnn_with_vectors_uses_them(toy, floret_dir, tmp_path):
    train_pipeline(tmp_path, overrides={**toy, **FEW_STEPS, "paths.vectors": str(floret_dir)}, recipe="cnn",
                   threads=1)
    nlp = spacy.load(tmp_path / "model-best")
    assert nlp.config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is True
    assert nlp.vocab.vectors.shape == (500, 12) and nlp.vocab.vectors.mode == "floret"
    nlp("Le patient a une fièvre .")


def test_missing_vectors_package_is_reported_and_left_out(toy, caplog):
    with caplog.at_level(logging.WARNING, logger="spacy_cbio"):
        config = build_train_config("cnn", "small", "token", {**toy, "paths.vectors": "fr_core_news_nonexistent"})
    messages = [record.getMessage() for record in caplog.records]
    assert config["paths"]["vectors"] is None
    assert config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] is False
    assert "fr_core_news_nonexistent" in messages[0] and "without static vectors" in messages[0]


def test_unknown_recipe_is_an_error(toy):
    with pytest.raises(ValueError, match="recipe must be one of"):
        build_train_config("lstm", "small", "token", toy)
