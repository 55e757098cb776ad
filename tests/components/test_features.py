"""Stacked features (transformer + static vectors) and the [cbio] features switch."""
import logging

import numpy
import pytest
import spacy

from spacy_cbio.train.pipeline import check_inputs, train_pipeline
from spacy_cbio.train.config import assemble_config
from spacy_cbio.train.testing import init_from_config, update_steps, write_toy_corpus

STATIC_SMALL = {  # a narrow static tok2vec keeps the tests fast
    "components.ner.model.tok2vec.static.embed.width": 32,
    "components.ner.model.tok2vec.static.encode.width": 32,
    "components.ner.model.tok2vec.static.encode.depth": 2,
}


@pytest.fixture(scope="module")
def stacked_paths(tmp_path_factory, tiny_hf_model_dir, floret_dir):
    paths = write_toy_corpus(tmp_path_factory.mktemp("toy_corpus"))
    return {**paths, "paths.transformer": str(tiny_hf_model_dir), "paths.vectors": str(floret_dir),
            "cbio.features": "stacked", **STATIC_SMALL}


def _tok2vec_arch(config):
    return config["components"]["ner"]["model"]["tok2vec"]["@architectures"]


@pytest.mark.parametrize("head", ["token", "transition"])
def test_switch_selects_the_features(head):
    assert _tok2vec_arch(assemble_config("tiny", head=head)) == "spacy-transformers.TransformerListener.v1"
    config = assemble_config("tiny", head=head, overrides={"cbio.features": "stacked"})
    tok2vec = config["components"]["ner"]["model"]["tok2vec"]
    assert tok2vec["@architectures"] == "spacy_cbio.StackedFeatures.v1"
    assert tok2vec["transformer"]["@architectures"] == "spacy-transformers.TransformerListener.v1"
    assert tok2vec["static"]["embed"]["include_static_vectors"] is True
    assert "grad_factor" not in tok2vec  # the listener's settings moved under `transformer`, none left over


def _static(config):
    from spacy import util

    resolved = util.load_config_from_str(config.to_str(), interpolate=True)
    static = resolved["components"]["ner"]["model"]["tok2vec"]["static"]
    return static["embed"]["width"], static["encode"]["width"], static["encode"]["depth"]


def test_profiles_choose_features():
    small = assemble_config("small")
    assert small["cbio"]["features"] == "stacked"  # sized for make all on 2 cores
    assert _static(small) == (192, 192, 4)  # chosen by measurement (the profile's table)
    assert small["training"]["optimizer"]["learn_rate"]["initial_rate"] == 0.001
    assert small["training"]["frozen_components"] == ["transformer"]
    assert small["training"]["annotating_components"] == ["transformer"]
    paper = assemble_config("paper")
    assert paper["cbio"]["features"] == "transformer" and paper["training"]["frozen_components"] == []
    assert _static(assemble_config("paper", overrides={"cbio.features": "stacked"})) == (256, 256, 8)
    assert _static(assemble_config("small", overrides={"cbio.static_width": 64})) == (64, 64, 4)
    assert assemble_config("small", overrides={"cbio.features": "transformer"})["cbio"]["features"] == "transformer"


def test_frozen_transformer_alone_is_warned(caplog):
    from spacy_cbio.train.pipeline import build_train_config

    with caplog.at_level(logging.WARNING, logger="spacy_cbio"):
        build_train_config("transformer", "small", "token", {"cbio.features": "transformer"})
    assert caplog.records and "frozen" in caplog.records[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="spacy_cbio"):
        build_train_config("transformer", "small", "token", {"cbio.features": "transformer",
                                                             "training.frozen_components": [],
                                                             "training.annotating_components": []})
        build_train_config("transformer", "small", "token", {})
    assert caplog.records == []


def test_unknown_features_is_an_error():
    with pytest.raises(ValueError, match=r"tiny.cfg with overrides \['features'\]: \[cbio\] features: expected "
                                         r"'transformer', 'stacked' or 'static', got 'word2vec'"):
        assemble_config("tiny", overrides={"cbio.features": "word2vec"})


def test_stacked_needs_vectors(stacked_paths):
    config = assemble_config("tiny", overrides={**stacked_paths, "paths.vectors": None})
    with pytest.raises(ValueError, match="--paths.vectors"):
        check_inputs(config)


def _init(stacked_paths):
    return init_from_config("tiny", {**stacked_paths, "system.seed": 0})


def test_stacked_width_is_the_sum(stacked_paths, tiny_hf_model_dir):
    nlp, _ = _init(stacked_paths)
    stacked = nlp.get_pipe("ner").model.get_ref("tok2vec")
    trf_width = nlp.get_pipe("transformer").model.get_dim("nO")
    assert stacked.get_ref("static").get_dim("nO") == 32
    assert stacked.get_dim("nO") == trf_width + 32
    doc = nlp("La fièvre a disparu après amoxicilline .")
    (probs,) = nlp.get_pipe("ner").predict([nlp.get_pipe("transformer")(nlp.make_doc(doc.text))])
    assert probs.shape == (len(doc), len(nlp.get_pipe("ner").tags))


def test_stacked_learns(stacked_paths):
    nlp, examples = _init(stacked_paths)
    losses = update_steps(nlp, examples, 30)
    assert losses[-1] < losses[0] / 3
    doc = nlp("La fièvre a disparu après amoxicilline .")
    assert [(e.text, e.label_) for e in doc.ents] == [("fièvre", "DISO"), ("amoxicilline", "CHEM")]


def test_stacked_pipeline_trains_and_round_trips(stacked_paths, tmp_path):
    overrides = {**stacked_paths, "training.max_steps": 3, "training.eval_frequency": 1}
    train_pipeline(tmp_path / "out", "tiny", overrides, threads=1)
    nlp = spacy.load(tmp_path / "out" / "model-best")
    assert nlp.config["cbio"]["features"] == "stacked"
    assert nlp.vocab.vectors.mode == "floret" and nlp.vocab.vectors.shape == (500, 12)
    text = "Le patient a une fièvre après amoxicilline ."
    reloaded = spacy.blank("fr").from_config(nlp.config)
    reloaded.from_bytes(nlp.to_bytes())
    probs = [nlp.get_pipe("ner").predict([nlp.get_pipe("transformer")(nlp.make_doc(text))])[0]
             for nlp in (nlp, reloaded)]
    numpy.testing.assert_allclose(probs[0], probs[1], rtol=1e-5, atol=1e-6)
