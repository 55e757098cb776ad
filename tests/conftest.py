"""Repo-wide pytest fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from spacy.language import Language
from spacy.tokens import Doc

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


@pytest.fixture(scope="session")
def pipeline_dir(tmp_path_factory, tiny_hf_model_dir) -> Path:
    """A pipeline that tags fièvre/toux as DISO and paracétamol/amoxicilline as CHEM (40 updates)."""
    from spacy_cbio.train.testing import init_from_config, torch_threads, update_steps, write_toy_corpus

    work = tmp_path_factory.mktemp("annotate_pipeline")
    paths = write_toy_corpus(work / "toy")
    with torch_threads(1):
        nlp, examples = init_from_config("tiny", {**paths, "paths.transformer": str(tiny_hf_model_dir), "system.seed": 0})
        update_steps(nlp, examples, 40)
    nlp.to_disk(work / "pipeline")
    return work / "pipeline"

BOOM = "BOOM"


@Language.component("cbio_test_boom")
def _boom(doc: Doc) -> Doc:
    """A component that fails on documents containing BOOM: a pipeline failure on one document."""
    if BOOM in doc.text:
        raise RuntimeError("boom in this document")
    return doc

# `make test` runs the suite in two pytest-xdist workers (`-n 2`). Each group of tests runs in
# one worker, so that an expensive fixture is built once: a folder's tests share its conftest's
# session fixtures, and the files named here share one across folders. The folders listed in
# SPLIT_BY_MODULE have no such fixture: their modules are spread over the workers. The groups are
# the scopes of xdist's load-scope scheduler (`pytest_xdist_make_scheduler` below).
SHARED_FIXTURE_GROUPS = {
    "tests/test_project.py": "tiny_workflow",
    "tests/docs/test_examples.py": "tiny_workflow",
    "tests/pretrain/test_stage.py": "tiny_pretrain_stage",
    "tests/pretrain/test_model_max_length.py": "tiny_pretrain_stage",
}
SPLIT_BY_MODULE = {"docs", "pretrain", "results", "train"}
# The longest groups start first, so that the other worker is not left with them at the end.
FIRST = ("tiny_workflow", "package", "tests/pretrain/test_multiprocess.py")


def worker_group(nodeid: str) -> str:
    """The worker group of a test, from its node id (``tests/<folder>/<file>.py::<name>``)."""
    rel = nodeid.split("::", 1)[0]
    if rel in SHARED_FIXTURE_GROUPS:
        return SHARED_FIXTURE_GROUPS[rel]
    parts = rel.split("/")
    return rel if len(parts) == 2 or parts[1] in SPLIT_BY_MODULE else parts[1]


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(worker_group(item.nodeid), len(FIRST)))


@pytest.hookimpl(optionalhook=True)  # known only when pytest-xdist is loaded
def pytest_xdist_make_scheduler(config, log):
    """xdist's load-scope scheduler, its scopes being :func:`worker_group`, in collection order."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    config.option.loadscopereorder = False  # keep FIRST first
    return GroupScheduling(config, log)
