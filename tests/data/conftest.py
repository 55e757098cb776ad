"""Fixtures for the data-stage tests: fixture folders and a blank French pipeline (the real-data root is in tests/conftest.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import spacy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def nlp():
    return spacy.blank("fr")
