"""Fixtures for the data-stage tests: fixture folders and the real-data root."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import spacy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def real_data_root() -> Path:
    """``$CBIO_DATA_MIRROR`` if set, else ``../shared/data`` next to the repository."""
    env = os.environ.get("CBIO_DATA_MIRROR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = real_data_root()
    assert (root / "e3c").is_dir() and (root / "quaero").is_dir(), (
        f"real data not found at {root}: set CBIO_DATA_MIRROR to the data mirror root"
    )
    return root


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("fr")
