"""Repo-wide pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never reach the Hugging Face hub from tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def real_data_root() -> Path:
    """``$CBIO_DATA_MIRROR`` if set, else ``../shared/data`` next to the repository."""
    env = os.environ.get("CBIO_DATA_MIRROR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data mirror (always present in CI); fails clearly when it is not there."""
    root = real_data_root()
    assert (root / "e3c").is_dir() and (root / "quaero").is_dir(), (
        f"real data not found at {root}: set CBIO_DATA_MIRROR to the data mirror root"
    )
    return root


@pytest.fixture(scope="session")
def tiny_hf_model_dir(tmp_path_factory) -> Path:
    """A tiny local CamemBERT masked LM + tokenizer (safetensors), built once per session."""
    from spacy_cbio.pretrain.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny_camembert"))
