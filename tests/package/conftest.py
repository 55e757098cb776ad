"""The spacy-cbio wheel, built once per session from a clean copy of the sources (so that no
stale build/ or egg-info of the working tree can leak into it, or be left behind)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_FILES = ("setup.cfg", "pyproject.toml", "README.md")


@pytest.fixture(scope="session")
def own_wheel(tmp_path_factory) -> Path:
    """``spacy_cbio-*.whl`` built with ``pip wheel --no-deps --no-build-isolation``."""
    work = tmp_path_factory.mktemp("own_wheel")
    src = work / "src"
    src.mkdir()
    for name in BUILD_FILES:
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "spacy_cbio", src / "spacy_cbio", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheelhouse = work / "wheelhouse"
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                             "-w", str(wheelhouse), str(src)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = wheelhouse.glob("spacy_cbio-*.whl")
    return wheel


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory, tiny_hf_model_dir) -> Path:
    """A tiny-profile pipeline trained on the toy corpus by this environment (``train``), with its
    ``run.json`` next to ``model-best`` as the project writes it."""
    import os

    from spacy_cbio.train.testing import write_toy_corpus

    work = tmp_path_factory.mktemp("tiny_pipeline")
    paths = write_toy_corpus(work / "toy")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "spacy_cbio", "train", "ner", "--profile", "tiny", "--threads", "1",
                             f"--paths.transformer={tiny_hf_model_dir}",
                             *[f"--{key}={value}" for key, value in paths.items()]],
                            cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (work / "ner" / "run.json").is_file()
    return work / "ner" / "model-best"
