"""Int8 dynamic quantization of the pipeline's transformer (spacy_cbio.components.quantize)."""
import numpy
import pytest
import spacy
import torch

from spacy_cbio.components.quantize import QuantizeError, hf_model, quantize_transformer

TEXTS = ["Le patient a une fièvre depuis hier .", "Il prend du paracétamol et de l' amoxicilline contre la toux ."]


def _probs(nlp):
    docs = [nlp.get_pipe("transformer")(nlp.make_doc(text)) for text in TEXTS]
    return nlp.get_pipe("ner").predict(docs)


def test_quantized_linear_layers_predict_close_to_fp32(pipeline_dir):
    fp32 = spacy.load(pipeline_dir)
    int8 = spacy.load(pipeline_dir)
    n = sum(1 for m in hf_model(int8).modules() if isinstance(m, torch.nn.Linear))
    assert quantize_transformer(int8) == n > 0
    assert not any(isinstance(m, torch.nn.Linear) for m in hf_model(int8).modules())  # every one replaced
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in hf_model(int8).modules())
    for a, b in zip(_probs(fp32), _probs(int8)):
        assert a.shape == b.shape
        assert numpy.abs(a - b).max() < 0.05  # int8 weights: close, not equal
        assert not numpy.array_equal(a, b)
    doc = int8(TEXTS[1])
    assert all(ent.label_ in int8.get_pipe("ner").labels for ent in doc.ents)


def test_quantize_needs_a_transformer_component():
    with pytest.raises(QuantizeError, match="no 'transformer' component"):
        quantize_transformer(spacy.blank("fr"))


def test_int8_component_quantizes_once_when_the_pipeline_first_runs(pipeline_dir, tmp_path):
    nlp = spacy.load(pipeline_dir)
    nlp.add_pipe("cbio_quantize_int8", first=True)  # an entry point: spaCy finds the factory
    nlp.to_disk(tmp_path / "int8")
    loaded = spacy.load(tmp_path / "int8")
    assert loaded.pipe_names[0] == "cbio_quantize_int8"
    assert any(isinstance(m, torch.nn.Linear) for m in hf_model(loaded).modules())  # fp32 until it runs
    doc = loaded(TEXTS[1])
    quantizer = loaded.get_pipe("cbio_quantize_int8")
    assert quantizer.n_quantized > 0 and not any(isinstance(m, torch.nn.Linear) for m in hf_model(loaded).modules())
    list(loaded.pipe(TEXTS))  # the second run does not quantize again
    assert quantizer.n_quantized > 0 and [e.label_ for e in doc.ents] == [e.label_ for e in loaded(TEXTS[1]).ents]
