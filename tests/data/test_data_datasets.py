"""The dataset table (``spacy_cbio.data.DATASETS``) and the held-out NER text."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from spacy_cbio.data import (
    DATASETS, HELDOUT_PATHS, SPLITS, DataError, get_spec, heldout_texts, load_sources,
    read_e3c_collection,
)


def test_every_dataset_is_described_for_users_and_packages():
    for name, spec in DATASETS.items():
        assert spec.name == name
        assert spec.description and spec.licence and spec.url.startswith("https://")
        assert set(spec.splits) <= set(SPLITS)
        # Labels are known for every corpus we read from the mirror; CAS labels come from the user's files.
        assert bool(spec.labels) == bool(spec.required), name
        meta = spec.to_meta()
        assert meta == {"name": name, "description": spec.description, "license": spec.licence,
                        "url": spec.url, "labels": list(spec.labels)}
    with pytest.raises(ValueError, match="known: e3c, emea"):
        get_spec("nope")


def test_e3c_collection_reader(tmp_path):
    folder = tmp_path / "data_collection" / "French" / "layer1"
    folder.mkdir(parents=True)
    (folder / "FR2.json").write_text(json.dumps({"id": "x", "text": "Deux."}), encoding="utf-8")
    (folder / "FR1.json").write_text(json.dumps({"id": "y", "text": "Un\ncas."}), encoding="utf-8")
    assert read_e3c_collection(tmp_path, 1) == [("FR1", "Un\ncas."), ("FR2", "Deux.")]
    (folder / "FR3.json").write_text(json.dumps({"id": "z"}), encoding="utf-8")
    with pytest.raises(DataError, match=r"FR3\.json: no readable 'text' field"):
        read_e3c_collection(tmp_path, 1)
    with pytest.raises(DataError, match="collection folder not found"):
        read_e3c_collection(tmp_path, 2)


# --- real corpora ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["e3c", "emea", "medline", "quaero", "mantra"])
def test_table_labels_are_the_labels_in_the_data(data_root, name):
    spec = DATASETS[name]
    found = {e.label for split in spec.splits for d in load_sources(name, data_root, split) for e in d.entities}
    assert found == set(spec.labels)


def test_heldout_texts_are_the_ner_evaluation_documents(data_root):
    assert all((data_root / path).is_dir() for path in HELDOUT_PATHS)
    heldout = dict(heldout_texts(data_root))
    assert Counter(doc_id.split("/")[0] for doc_id in heldout) == {"e3c": 249, "quaero": 1692, "mantra": 250}
    # E3C: every document of layers 1 and 2, i.e. every NER document of either protocol.
    e3c_ner = {d.doc_id for split in SPLITS for d in load_sources("e3c", data_root, split)}
    assert {doc_id.rsplit("/", 1)[1] for doc_id in heldout if doc_id.startswith("e3c/")} == e3c_ner
    # QUAERO dev and test, text-exact; never train.
    for split in SPLITS:
        for src in load_sources("quaero", data_root, split):
            key = f"quaero/{split}/{src.doc_id}"
            assert (heldout.get(key) == src.text) if split != "train" else key not in heldout
    assert not set(heldout.values()) & {s.text for s in load_sources("quaero", data_root, "train")}
    mantra = {f"mantra/{s.doc_id}": s.text for s in load_sources("mantra", data_root, "test")}
    assert {k: v for k, v in heldout.items() if k.startswith("mantra/")} == mantra
