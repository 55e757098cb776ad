"""Fixtures: tiny models run single-threaded (fast, and robust to busy cores)."""
import pytest

from spacy_cbio.train.testing import torch_threads


@pytest.fixture(autouse=True, scope="module")
def _single_torch_thread():
    with torch_threads(1):
        yield
