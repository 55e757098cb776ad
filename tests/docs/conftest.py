"""Fixtures of the documentation tests: the tiny workflow's outputs the examples run against."""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory, data_root) -> Path:
    """The tiny workflow's project folder: the run tests/test_project.py makes (on a sample of the
    mirror), once per session."""
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import test_project

    project, _, _, _ = test_project.tiny_workflow(tmp_path_factory, data_root)
    return project


@pytest.fixture(scope="session")
def tiny_packages(tiny_project, tmp_path_factory) -> Path:
    """The tiny run's model wheels unpacked into one folder (put it on PYTHONPATH: `spacy.load`
    finds ``fr_cbio_ner`` by its dist-info), without installing anything into the environment."""
    site = tmp_path_factory.mktemp("example_packages")
    wheels = sorted((tiny_project / "packages" / "tiny").glob("fr_*.whl"))
    assert wheels, "the tiny workflow wrote no model wheels"
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
    return site
