"""Repo-wide pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never reach the Hugging Face hub from tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_hf_model_dir(tmp_path_factory) -> Path:
    """A tiny local CamemBERT masked LM + tokenizer (safetensors), built once per session."""
    from spacy_cbio.pretrain.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny_camembert"))
