"""Fixtures of the pretraining tests: tiny corpora in the layout of corpus_scripts/build_corpus.py."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest
from datasets import Dataset, DatasetDict

from spacy_cbio.pretrain.testing import SAMPLE_FILE

GENERAL_FILE = SAMPLE_FILE.with_name("fr_general_sample.txt")


def make_corpus(path: Path, src: Path) -> Path:
    """``path/dataset`` (train/validation DatasetDict, 3 lines per document) and ``path/stats.md``."""
    lines = [line for line in src.read_text(encoding="utf8").splitlines() if line.strip()]
    docs = [" ".join(lines[i : i + 3]) for i in range(0, len(lines), 3)]
    cut = len(docs) * 9 // 10
    DatasetDict(
        {"train": Dataset.from_dict({"text": docs[:cut]}), "validation": Dataset.from_dict({"text": docs[cut:]})}
    ).save_to_disk(str(path / "dataset"))
    (path / "stats.md").write_text(f"| source | words |\n|---|---|\n| {src.stem} | {sum(len(d.split()) for d in docs)} |\n")
    return path


@pytest.fixture(scope="session")
def corpora(tmp_path_factory) -> Dict[str, Path]:
    """``{"bio": dir, "general": dir}``: the biomedical and general-French sample corpora."""
    root = tmp_path_factory.mktemp("pretrain_corpora")
    return {"bio": make_corpus(root / "bio", SAMPLE_FILE), "general": make_corpus(root / "general", GENERAL_FILE)}
