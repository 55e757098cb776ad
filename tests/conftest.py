"""Repo-wide pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never reach the Hugging Face hub from tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository (source checkout) root."""
    return REPO_ROOT


def real_data_root() -> Path:
    """``$CBIO_DATA_MIRROR`` if set, else ``../shared/data`` next to the repository."""
    env = os.environ.get("CBIO_DATA_MIRROR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real data mirror; tests that need it are skipped when it is absent."""
    root = real_data_root()
    if not ((root / "e3c").is_dir() and (root / "quaero").is_dir()):
        pytest.skip(f"real data mirror not found at {root} (set CBIO_DATA_MIRROR)")
    return root


@pytest.fixture(scope="session")
def tiny_hf_model_dir(tmp_path_factory) -> Path:
    """A tiny local CamemBERT masked LM + tokenizer (safetensors), built once per session."""
    from spacy_cbio.pretrain.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny_camembert"))


@pytest.fixture(autouse=True, scope="module")
def _single_torch_thread():
    """Tiny models run single-threaded: as fast, and robust to busy cores."""
    from spacy_cbio.train.testing import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def floret_dir(tmp_path_factory) -> Path:
    """A spaCy vectors directory with a random floret table (500 rows x 12, n-grams 3-4)."""
    import numpy
    import spacy
    from spacy.vectors import Vectors

    nlp = spacy.blank("fr")
    data = numpy.random.default_rng(0).normal(size=(500, 12)).astype("float32")
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=data, mode="floret", minn=3, maxn=4, hash_count=2)
    path = tmp_path_factory.mktemp("floret") / "vectors"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="session")
def tiny_pretrain_stage(corpora, tmp_path_factory):
    """The tiny pretraining stage, trained once per session on the sample corpora (``corpora``,
    tests/pretrain/conftest.py) with its CLI commands: ``(out, outputs, snapshots)``, see
    :func:`spacy_cbio.pretrain.testing.run_tiny_stage`. Tests only read it."""
    from spacy_cbio.pretrain.testing import run_tiny_stage

    return run_tiny_stage(corpora["bio"], corpora["general"], tmp_path_factory.mktemp("tiny_stage"))
