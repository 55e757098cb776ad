"""E3C XMI reader: fixtures (UTF-16 offsets, errors, protocols) and the real corpus."""
from __future__ import annotations

import re
from collections import Counter

import pytest

from spacy_cbio.data import (
    DataError, Ledger, e3c_splits, load_dataset, read_e3c_layer, read_e3c_xmi, source_to_doc,
)
from spacy_cbio.data.e3c import FRENCH, official_train_ids


def test_fixture_xmi_offsets_and_flags(fixtures):
    path = fixtures / "e3c_mini" / FRENCH / "layer1" / "FR900001.xml"
    doc = read_e3c_xmi(path)
    assert doc.doc_id == "FR900001" and "\n" in doc.text
    spans = [(doc.text[e.start:e.end], e.extent_only, e.label) for e in doc.entities]
    # UTF-16 offsets after the non-BMP emoji are mapped to characters.
    assert spans[0] == ("Fièvre", False, "CLINENTITY")
    assert ("Douleur thoracique très gauche", True, "CLINENTITY") in spans
    assert len(spans) == 4  # BODYPART not read by default
    body = read_e3c_xmi(path, labels=("BODYPART",))
    assert [doc.text[e.start:e.end] for e in body.entities] == ["thoracique"]


@pytest.mark.parametrize("name,line,pattern", [
    ("unclosed.xml", 4, "XML parse error"),
    ("out_of_range.xml", 3, r"xmi:id=100 offsets 0-40 out of range"),
    ("no_sofa.xml", None, "no cas:Sofa"),
])
def test_bad_xmi(fixtures, name, line, pattern):
    path = fixtures / "xmi_bad" / name
    with pytest.raises(DataError, match=pattern) as info:
        read_e3c_xmi(path)
    assert info.value.path == str(path) and info.value.line == line


def test_protocols_on_fixture(fixtures):
    root = fixtures / "e3c_mini"
    paper = e3c_splits(root, "paper", seed=0)
    assert paper["test"] == (1, ["FR900001", "FR900002", "FR900003"])
    assert paper["train"][0] == paper["dev"][0] == 2
    assert sorted(paper["train"][1] + paper["dev"][1]) == ["FR900010", "FR900011", "FR900012"]
    assert len(paper["dev"][1]) == 1
    official = e3c_splits(root, "official", seed=0)
    assert official_train_ids(root) == ["FR900001", "FR900002"]
    assert sorted(official["train"][1] + official["dev"][1]) == ["FR900001", "FR900002"]
    assert official["test"] == (1, ["FR900003"])
    assert e3c_splits(root, "paper", seed=0) == paper  # deterministic
    with pytest.raises(ValueError, match="unknown E3C protocol"):
        e3c_splits(root, "other")


# --- real corpus -----------------------------------------------------------------

_ENT = re.compile(r'<custom:CLINENTITY [^>]*?begin="(\d+)" end="(\d+)"')


def test_real_counts_and_round_trip(data_root, nlp):
    e3c = data_root / "e3c"
    train_ids = set(official_train_ids(e3c))
    assert len(train_ids) == 36
    layers = {1: read_e3c_layer(e3c, 1), 2: read_e3c_layer(e3c, 2)}
    l1_train = [d for d in layers[1] if d.doc_id in train_ids]
    l1_test = [d for d in layers[1] if d.doc_id not in train_ids]
    assert (len(l1_train), sum(len(d.entities) for d in l1_train)) == (36, 596)
    assert (len(l1_test), sum(len(d.entities) for d in l1_test)) == (45, 731)
    assert (len(layers[2]), sum(len(d.entities) for d in layers[2])) == (168, 2033)
    for layer in (1, 2):
        for src in layers[layer][:40]:
            raw = (e3c / FRENCH / f"layer{layer}" / f"{src.doc_id}.xml").read_text(encoding="utf-8")
            # Independent extraction of the annotated strings (the corpus is BMP-only).
            expected = Counter(src.text[int(b):int(e)].strip() for b, e in _ENT.findall(raw))
            doc = source_to_doc(nlp, src)
            assert doc.text == src.text
            assert Counter(s.text for s in doc.spans["gold_all"]) == expected


@pytest.mark.parametrize("protocol", ["paper", "official"])
def test_real_flat_plus_drops_equals_source(data_root, protocol):
    total_src = total_flat = 0
    for split in ("train", "dev", "test"):
        ledger = Ledger()
        docs = load_dataset("e3c", data_root, split, protocol=protocol, ledger=ledger)
        flat = sum(len(d.ents) for d in docs)
        src = sum(len({s.id_ for s in d.spans["gold_all"]}) for d in docs)
        drops = sum(n for r, n in ledger.counts.items() if r.startswith("drop."))
        assert flat + drops == src
        for d in docs:
            assert all(d.text[s.start_char:s.end_char] == s.text for s in d.spans["gold_all"])
        total_src += src
        total_flat += flat
    assert total_src == (2033 + 1327 if protocol == "paper" else 1327)


def _bio_entities(path):
    ents, cur = [], None
    for line in path.read_text(encoding="utf-8").split("\n"):
        parts = line.rsplit(" ", 1)
        tag = parts[1] if len(parts) == 2 else "O"
        if cur and not tag.startswith("I-"):
            ents.append("".join(cur))
            cur = None
        if tag.startswith("B-"):
            cur = [parts[0]]
        elif tag.startswith("I-") and cur is not None:
            cur.append(parts[0])
    if cur:
        ents.append("".join(cur))
    return Counter(ents)


def test_real_matches_upstream_bio_export(data_root):
    """Upstream's IOB export drops discontinuous and nested entities: so does our flat view."""
    bio = data_root / "e3c" / "preprocessed_data" / "clinical_entities" / "layer1" / "French"
    for bio_split, ours in (("train", ("train", "dev")), ("test", ("test",))):
        upstream = _bio_entities(bio / f"{bio_split}.txt")
        mine = Counter(re.sub(r"\s", "", e.text) for s in ours
                       for d in load_dataset("e3c", data_root, s, protocol="official") for e in d.ents)
        assert sum(upstream.values()) > 500
        assert mine == upstream
