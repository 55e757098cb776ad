"""Fixtures of the packaging tests, each made once per session: a tiny pipeline trained by this
environment, ``package`` run on it as the project runs it (model wheel + the spacy-cbio wheel
built from a clean copy of the sources), and the spacy-cbio wheel itself."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NAME = "cbio_ner_tiny"
PACKAGE = f"fr_{NAME}"


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    """Run ``cmd``; an assertion error with the end of its output if it fails."""
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory, tiny_hf_model_dir) -> Path:
    """A tiny-profile pipeline trained on the toy corpus by this environment (``train``), with its
    ``run.json`` next to ``model-best`` as the project writes it."""
    import os

    from spacy_cbio.train.testing import write_toy_corpus

    work = tmp_path_factory.mktemp("tiny_pipeline")
    paths = write_toy_corpus(work / "toy")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    run([sys.executable, "-m", "spacy_cbio", "train", "ner", "--profile", "tiny", "--threads", "1",
         f"--paths.transformer={tiny_hf_model_dir}", *[f"--{key}={value}" for key, value in paths.items()]],
        cwd=work, env=env)
    assert (work / "ner" / "run.json").is_file()
    return work / "ner" / "model-best"


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
    result = run([sys.executable, "-m", "spacy_cbio", "package", str(trained / "model-best"), str(out),
                  "--dataset", "quaero", "--name", NAME, "--metrics", str(metrics),
                  "--base-model", "training/pretrain/tiny/model"], cwd=work)
    shutil.rmtree(work / "training")
    return out, result.stdout


@pytest.fixture(scope="session")
def own_wheel(packages) -> Path:
    """The ``spacy_cbio-*.whl`` that ``package`` built (``pip wheel --no-deps`` of a clean copy of
    the sources, so that no stale build/ or egg-info of the working tree can leak into it)."""
    (wheel,) = packages[0].glob("spacy_cbio-*.whl")
    return wheel
