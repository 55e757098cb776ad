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
