"""The tiny model fixture loads offline with transformers and spacy-transformers."""
from __future__ import annotations

import json

import torch
from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

from spacy_cbio.pretrain.tokenizer import vocab_size_for


def test_tiny_model_files(tiny_hf_model_dir):
    names = {p.name for p in tiny_hf_model_dir.iterdir()}
    assert "model.safetensors" in names
    assert "pytorch_model.bin" not in names
    assert {"tokenizer.json", "sentencepiece.bpe.model", "config.json"} <= names
    config = json.loads((tiny_hf_model_dir / "config.json").read_text())
    assert config["max_position_embeddings"] >= 514
    assert config["num_hidden_layers"] == 2


def test_tiny_model_loads_with_auto_classes(tiny_hf_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_hf_model_dir)
    model = AutoModelForMaskedLM.from_pretrained(tiny_hf_model_dir)
    # fairseq offsets: ids go above len(); embeddings must cover the largest id
    assert model.get_input_embeddings().num_embeddings == vocab_size_for(tok)
    assert tok.mask_token_id < vocab_size_for(tok)
    enc = tok(["Le patient a reçu du paracétamol <mask>."], return_tensors="pt")
    assert enc["input_ids"][0, 0].item() == tok.cls_token_id
    assert tok.mask_token_id in enc["input_ids"][0].tolist()
    with torch.no_grad():
        out = model(**enc)
    assert out.logits.shape[-1] == vocab_size_for(tok)
    base = AutoModel.from_pretrained(tiny_hf_model_dir)
    assert base.config.hidden_size == 32


def test_tiny_model_in_spacy_transformers(tiny_hf_model_dir):
    import spacy

    nlp = spacy.blank("fr")
    nlp.add_pipe(
        "transformer",
        config={
            "model": {
                "@architectures": "spacy-transformers.TransformerModel.v3",
                "name": str(tiny_hf_model_dir),
                "tokenizer_config": {"use_fast": True},
            }
        },
    )
    nlp.initialize()
    doc = nlp("Une femme de 54 ans a consulté pour une douleur thoracique.")
    hidden = doc._.trf_data.tensors[0]
    assert hidden.shape[-1] == 32
    assert doc._.trf_data.align.lengths.sum() > 0  # spaCy tokens aligned to pieces
    assert len(doc) > 5
