"""Fixtures of the packaging tests, each made once per session: a tiny pipeline trained by this
environment, the ``package`` command run on it from a project-like folder (model wheel + the
spacy-cbio wheel built from a clean copy of the sources), and the spacy-cbio wheel itself. Both
run in this process (the CLI through typer's runner): the fresh-venv tests run the installed
wheels in their own processes."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

NAME = "cbio_ner_tiny"
PACKAGE = f"fr_{NAME}"


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory, tiny_hf_model_dir) -> Path:
    """A tiny-profile pipeline trained on the toy corpus by this environment (``train``'s library
    function, in this process: the same config, ``run.json`` next to ``model-best``)."""
    from spacy_cbio.train.pipeline import train_pipeline
    from spacy_cbio.train.testing import torch_threads, write_toy_corpus

    work = tmp_path_factory.mktemp("tiny_pipeline")
    paths = write_toy_corpus(work / "toy")
    with torch_threads(1):
        model = train_pipeline(work / "ner", "tiny", {**paths, "paths.transformer": str(tiny_hf_model_dir)}, threads=1)
    assert (work / "ner" / "run.json").is_file()
    return model


@pytest.fixture(scope="session")
def packages(tiny_pipeline, tmp_path_factory):
    """``package`` run as the project runs it, on a copy of the pipeline that is deleted afterwards
    (so that whatever loads the package cannot lean on the training folder): (packages folder,
    package's stdout)."""
    work = tmp_path_factory.mktemp("packages")
    metrics = work / "quaero.json"
    strict = {"micro": {"p": 0.5, "r": 0.25, "f": 1 / 3}, "macro": {"p": 0.5, "r": 0.25, "f": 0.3},
              "per_type": {"DISO": {"p": 0.5, "r": 0.25, "f": 1 / 3, "support": 4, "n_pred": 2}}}
    metrics.write_text(json.dumps({"seqeval_strict_iob2": strict, "data": "corpus/ner/quaero/test.spacy"}))
    trained = work / "training" / "ner"
    shutil.copytree(tiny_pipeline.parent, trained)
    out = work / "packages" / "tiny"
    from typer.testing import CliRunner

    from spacy_cbio.__main__ import app

    previous = Path.cwd()
    os.chdir(work)  # as the project runs it: relative paths from the project folder
    try:
        result = CliRunner().invoke(app, ["package", str(trained / "model-best"), str(out), "--dataset", "quaero",
                                          "--name", NAME, "--metrics", str(metrics),
                                          "--base-model", "training/pretrain/tiny/model"])
    finally:
        os.chdir(previous)
    assert result.exit_code == 0, result.output
    shutil.rmtree(work / "training")
    return out, result.output


@pytest.fixture(scope="session")
def own_wheel(packages) -> Path:
    """The ``spacy_cbio-*.whl`` that ``package`` built (``pip wheel --no-deps`` of a clean copy of
    the sources, so that no stale build/ or egg-info of the working tree can leak into it)."""
    (wheel,) = packages[0].glob("spacy_cbio-*.whl")
    return wheel
