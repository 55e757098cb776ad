"""cbio_token_ner on a tiny local CamemBERT: training, long documents, the stock ner head."""
import numpy
import pytest
import spacy
from spacy import util
from spacy_transformers.span_getters import configure_strided_spans

from spacy_cbio.components.iob import is_valid_iob2
from spacy_cbio.train.pipeline import train_pipeline
from spacy_cbio.train.testing import init_from_config, long_text, update_steps, write_toy_corpus


@pytest.fixture(scope="module")
def toy_paths(tmp_path_factory, tiny_hf_model_dir):
    """``paths.*`` overrides: the toy corpus and the tiny local CamemBERT."""
    paths = write_toy_corpus(tmp_path_factory.mktemp("toy_corpus"))
    return {**paths, "paths.transformer": str(tiny_hf_model_dir)}


@pytest.fixture(scope="module")
def trained_dir(toy_paths, tmp_path_factory):
    output = tmp_path_factory.mktemp("trained_token")
    train_pipeline(output, "tiny", toy_paths, head="token", gpu_id=-1, threads=1)
    return output


def test_train_cli_writes_best_model(trained_dir):
    assert (trained_dir / "config.cfg").is_file()
    run = util.srsly.read_json(trained_dir / "run.json")
    assert run["seed"] == 0 and run["profile"] == "tiny" and run["torch_threads"] == 1
    assert run["paths"]["train"].endswith("train.spacy") and run["paths"]["transformer"]
    assert run["versions"]["spacy-transformers"]
    nlp = spacy.load(trained_dir / "model-best")
    assert nlp.pipe_names == ["transformer", "ner", "trf_cleaner"]
    assert nlp.get_pipe("ner").labels == ("CHEM", "DISO")
    doc = nlp("Le patient a une fièvre .")
    assert doc._.trf_data is None  # dropped once the NER has read it


@pytest.mark.parametrize("window,stride", [(32, 24), (128, 96)])
def test_long_document_every_token_tagged(trained_dir, window, stride):
    nlp = spacy.load(trained_dir / "model-best")
    trf_model = nlp.get_pipe("transformer").model
    trf_model.attrs["get_spans"] = configure_strided_spans(window, stride)
    text = long_text(5000)
    doc = nlp.make_doc(text)
    assert len(doc) == 5000
    ner = nlp.get_pipe("ner")
    doc = nlp.get_pipe("transformer")(doc)
    (probs,) = ner.predict([doc])
    assert probs.shape == (5000, len(ner.tags))
    numpy.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)
    # No truncation: every token is aligned to at least one wordpiece of some window.
    assert len(doc._.trf_data.align.lengths) == 5000
    assert numpy.all(doc._.trf_data.align.lengths > 0)
    doc = nlp(text)
    assert all(t.ent_iob_ in ("B", "I", "O") for t in doc)
    assert is_valid_iob2(["O" if t.ent_iob_ == "O" else f"{t.ent_iob_}-{t.ent_type_}" for t in doc])


def test_empty_text_through_transformer_pipeline(trained_dir):
    nlp = spacy.load(trained_dir / "model-best")
    assert len(nlp("").ents) == 0
    assert [len(d.ents) for d in nlp.pipe(["", " "])] == [0, 0]


def test_transformer_token_ner_learns(toy_paths):
    overrides = {**toy_paths, "system.seed": 0}
    nlp, examples = init_from_config("tiny", overrides)
    losses = update_steps(nlp, examples, 40)
    assert losses[-1] < losses[0] / 3
    doc = nlp("La fièvre a disparu après amoxicilline .")
    assert [(e.text, e.label_) for e in doc.ents] == [("fièvre", "DISO"), ("amoxicilline", "CHEM")]
    assert all(0.0 <= e._.score <= 1.0 for e in doc.ents)


def test_transition_head_trains(toy_paths, tmp_path):
    overrides = {**toy_paths, "training.max_steps": 2, "training.eval_frequency": 1}
    train_pipeline(tmp_path, "tiny", overrides, head="transition", gpu_id=-1, threads=1)
    nlp = spacy.load(tmp_path / "model-best")
    assert nlp.get_pipe_meta("ner").factory == "ner"
    assert set(nlp.get_pipe("ner").labels) == {"CHEM", "DISO"}
    nlp("Le patient a une fièvre .")
