"""QUAERO and Mantra GSC on the real files: counts, flat + drops == source, text-exact spans."""
from __future__ import annotations

import re

import pytest

from spacy_cbio.data import Ledger, iter_raw_texts, load_dataset

# Entity (T line) counts from the corpus README (quaero/corpus/{split}/{EMEA,MEDLINE}).
QUAERO_T_LINES = {
    ("EMEA", "train"): 2695, ("EMEA", "dev"): 2260, ("EMEA", "test"): 2204,
    ("MEDLINE", "train"): 2994, ("MEDLINE", "dev"): 2977, ("MEDLINE", "test"): 3103,
}
_WS = re.compile(r"\s+")


def _ann_entities(folder):
    """{(doc stem, T id): (fragments in file order, annotated text)} parsed here independently."""
    out = {}
    for ann in folder.glob("*.ann"):
        for line in ann.read_text(encoding="utf-8").splitlines():
            if line.startswith("T"):
                tid, type_offsets, text = line.split("\t")
                frags = [tuple(map(int, f.split())) for f in type_offsets.split(" ", 1)[1].split(";")]
                out[(ann.stem, tid)] = (frags, text)
    return out


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_quaero_counts_and_round_trip(data_root, split):
    ledger = Ledger()
    docs = load_dataset("quaero", data_root, split, ledger=ledger)
    for sub in ("EMEA", "MEDLINE"):
        folder = data_root / "quaero" / "corpus" / split / sub
        ann = _ann_entities(folder)
        assert len(ann) == QUAERO_T_LINES[(sub, split)]
        sub_docs = [d for d in docs if d.user_data["doc_id"].startswith(sub + "/")]
        assert len(sub_docs) == len(list(folder.glob("*.ann")))
        seen = 0
        for doc in sub_docs:
            stem = doc.user_data["doc_id"].split("/", 1)[1]
            by_id = {}
            for span in doc.spans["gold_all"]:
                by_id.setdefault(span.id_, []).append(span.text)
            for tid, texts in by_id.items():
                frags, annotated = ann[(stem, tid)]
                # The annotated text is the fragments joined by a space, in file order.
                assert _WS.sub(" ", " ".join(doc.text[s:e] for s, e in frags)).strip() == \
                    _WS.sub(" ", annotated).strip()
                # gold_all holds each fragment, text-exact (whitespace-trimmed), in offset order.
                assert texts == [doc.text[s:e].strip() for s, e in sorted(frags)]
            seen += len(by_id)
        assert seen == len(ann)
    flat = sum(len(d.ents) for d in docs)
    drops = sum(n for r, n in ledger.counts.items() if r.startswith("drop."))
    assert flat + drops == sum(QUAERO_T_LINES[(s, split)] for s in ("EMEA", "MEDLINE"))
    assert not any(r.startswith("skipped.") for r in ledger.counts)
    assert ledger.counts["repair.discontinuous_first_fragment"] > 0


def test_mantra_labels_are_semantic_groups(data_root):
    ledger = Ledger()
    docs = load_dataset("mantra", data_root, "test", ledger=ledger)
    assert len(docs) == 250
    groups = {"ANAT", "CHEM", "DEVI", "DISO", "GEOG", "LIVB", "OBJC", "PHEN", "PHYS", "PROC"}
    labels = {e.label_ for d in docs for e in d.ents}
    assert labels <= groups and len(labels) >= 8
    assert all(s.kb_id_.startswith("C") for d in docs for s in d.spans["gold_all"])
    source = sum(len({s.id_ for s in d.spans["gold_all"]}) for d in docs)
    t_lines = sum(1 for f in (data_root / "mantra_gsc" / "Mantra-GSC" / "French").glob("*/*.ann")
                  for line in f.read_text(encoding="utf-8").splitlines() if line.startswith("T"))
    assert source == t_lines
    drops = sum(n for r, n in ledger.counts.items() if r.startswith("drop."))
    assert sum(len(d.ents) for d in docs) + drops == t_lines


def test_iter_raw_texts(data_root):
    texts = dict(iter_raw_texts("emea", data_root, ["dev", "test"]))
    assert len(texts) == 12 + 15
    one = next(iter(texts))
    path = data_root / "quaero" / "corpus" / "dev" / "EMEA" / (one.split("/", 1)[1] + ".txt")
    assert texts[one] == path.read_text(encoding="utf-8")
    assert list(iter_raw_texts("mantra", data_root, ["train"])) == []
