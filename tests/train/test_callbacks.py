"""``spacy_cbio.init_frozen.v1``: a frozen transformer is initialized and stays unchanged."""
from __future__ import annotations

import numpy
from thinc.api import Adam

from spacy_cbio.train.testing import init_from_config, write_toy_corpus

FROZEN = {"training.frozen_components": ["transformer"], "training.annotating_components": ["transformer"]}


def _torch_weights(pipe):
    return [p.detach().numpy().copy() for node in pipe.model.walk() for shim in node.shims
            for p in shim._model.parameters()]


def test_frozen_transformer_initialized_and_not_updated(tmp_path, tiny_hf_model_dir):
    paths = write_toy_corpus(tmp_path / "toy")
    for features in ("transformer", "stacked"):
        overrides = {**paths, "paths.transformer": str(tiny_hf_model_dir), "cbio.features": features, **FROZEN}
        if features == "stacked":  # no static vectors in this test
            overrides.update({"paths.vectors": None, "initialize.vectors": None,
                              "components.ner.model.tok2vec.static.embed.include_static_vectors": False})
        nlp, examples = init_from_config("tiny", overrides)
        trf = nlp.get_pipe("transformer")
        assert trf.listeners and all(l.get_dim("nO") == trf.model.get_dim("nO") for l in trf.listeners)
        before = _torch_weights(trf)
        assert before
        optimizer = Adam(0.01)
        losses = [], {}
        for _ in range(3):
            step = {}
            nlp.update(examples, sgd=optimizer, losses=step, exclude=["transformer"], annotates=["transformer"])
            losses[0].append(step["ner"])
        assert all(numpy.array_equal(a, b) for a, b in zip(before, _torch_weights(trf))), features
        assert losses[0][-1] < losses[0][0], features  # the head learns on the frozen features
        with nlp.select_pipes(disable=["trf_cleaner"]):  # the transformer ran at prediction time
            doc = nlp("Le patient a une fièvre .")
        assert doc._.trf_data is not None and len(doc._.trf_data.tensors) > 0
        assert nlp("Le patient a une fièvre .")._.trf_data is None  # dropped by the pipeline's last component


def test_unfrozen_transformer_is_updated(tmp_path, tiny_hf_model_dir):
    paths = write_toy_corpus(tmp_path / "toy")
    nlp, examples = init_from_config("tiny", {**paths, "paths.transformer": str(tiny_hf_model_dir)})
    before = _torch_weights(nlp.get_pipe("transformer"))
    optimizer = Adam(0.01)
    for _ in range(3):  # the head starts at zero: the transformer gets gradients from step 2
        nlp.update(examples, sgd=optimizer)
    assert not all(numpy.array_equal(a, b) for a, b in zip(before, _torch_weights(nlp.get_pipe("transformer"))))
