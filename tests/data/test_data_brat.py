"""BRAT reader: fixtures with discontinuous, nested, overlapping, off-token and broken files."""
from __future__ import annotations

import re

import pytest

from spacy_cbio.data import DataError, Ledger, parse_ann, read_brat_dir, read_brat_doc, source_to_doc


def test_reads_entities_notes_and_ignored_lines(fixtures):
    ledger = Ledger()
    docs = read_brat_dir(fixtures / "brat_good", ledger=ledger)
    assert [d.doc_id for d in docs] == ["case", "empty"]
    case, empty = docs
    assert len(case.entities) == 12 and empty.entities == []
    ents = {e.id: e for e in case.entities}
    assert ents["T1"].kb_id == "C0006142"
    # Discontinuous fragments are sorted by offset whatever the file order.
    assert ents["T12"].fragments[0][0] < ents["T12"].fragments[1][0]
    assert ents["T8"].discontinuous and not ents["T1"].discontinuous
    # Whitespace-padded span trimmed, counted.
    assert case.text[ents["T11"].start:ents["T11"].end] == "notée"
    assert ledger.counts["repair.whitespace_trimmed"] == 1
    assert ledger.counts["ignored.relation"] == 1


def test_flat_view_and_gold_all(fixtures, nlp):
    ledger = Ledger()
    src = read_brat_doc(fixtures / "brat_good" / "case.ann", ledger=ledger)
    doc = source_to_doc(nlp, src, ledger)
    assert doc.text == src.text
    flat = [(e.text, e.label_) for e in doc.ents]
    assert flat == [
        ("cancer du sein gauche", "DISO"),  # outermost kept, "sein"/"sein gauche" dropped
        ("est traité", "PROC"),  # equal-length crossing: earliest start wins
        ("inflammatoires", "CHEM"),  # off-token: token split
        ("hépatite B", "DISO"),  # same span: first in file order wins
        ("notée", "DISO"),
        ("douleur  thoracique", "DISO"),  # whitespace-only gap: merged
    ]
    c = ledger.counts
    assert c["drop.nested"] == 3  # sein, sein gauche, first fragment of T8 ("hépatite")
    assert c["drop.overlap"] == 1 and c["drop.same_span_other_label"] == 1 and c["drop.duplicate"] == 1
    assert c["repair.discontinuous_first_fragment"] == 1 and c["repair.discontinuous_merged"] == 1
    assert c["repair.token_split"] == 1
    drops = sum(n for r, n in c.items() if r.startswith("drop."))
    assert len(doc.ents) + drops == len(src.entities)
    # gold_all keeps every fragment, text-exact, with the source id.
    gold = doc.spans["gold_all"]
    assert len({s.id_ for s in gold}) == len(src.entities)
    t8 = [s.text for s in gold if s.id_ == "T8"]
    assert t8 == ["hépatite", "C"]
    assert [s.text for s in doc.spans["gold_discontinuous"] if s.id_ == "T8"] == ["hépatite B et C"]
    words = [t.text for t in doc]
    i = words.index("inflammatoires")
    assert words[i - 1] == "anti" and not doc[i - 1].whitespace_  # split token, text unchanged
    # Sentences: a new sentence after the line break.
    assert any(s.text.startswith("Une hépatite") for s in doc.sents)


def test_mantra_semantic_group_from_notes(fixtures):
    ledger = Ledger()
    (doc,) = read_brat_dir(fixtures / "mantra_like", label_from="notes_group", ledger=ledger)
    labels = {doc.text[e.start:e.end]: (e.label, e.kb_id) for e in doc.entities}
    assert labels == {
        "sodium": ("OBJC", "C0037570"),  # "OBJC|CHEM": first group kept
        "publications": ("OBJC", "C0034036"),  # group found in a swapped field
        "récepteurs": ("CHEM", "C0034788"),
        "patient": ("LIVB", "C0030705"),
    }
    assert ledger.counts["repair.semantic_group_first_of_several"] == 1
    assert ledger.counts["repair.semantic_group_field_swapped"] == 1


@pytest.mark.parametrize(
    "case,file,line,pattern",
    [
        ("out_of_range", "doc.ann", 2, r"offsets 7-50 out of range"),
        ("text_mismatch", "doc.ann", 2, r"span text 'élevée' does not match annotated text 'Toux'"),
        ("malformed_line", "doc.ann", 2, r"malformed entity line"),
        ("malformed_offsets", "doc.ann", 3, r"malformed offsets '7 x'"),
        ("unknown_kind", "doc.ann", 2, r"unknown kind 'Q'"),
        ("non_utf8", "doc.txt", 1, r"not valid UTF-8"),
        ("empty_txt", "doc.txt", None, r"empty file"),
    ],
)
def test_bad_input_names_file_and_line(fixtures, case, file, line, pattern):
    folder = fixtures / "brat_bad" / case
    with pytest.raises(DataError, match=pattern) as info:
        read_brat_dir(folder)
    err = info.value
    assert err.path == str(folder / file)
    assert err.line == line
    where = f"{folder / file}:{line}" if line else str(folder / file)
    assert str(err).startswith(where + ":")


def test_missing_txt_is_an_error(fixtures):
    folder = fixtures / "brat_bad" / "missing_txt"
    with pytest.raises(DataError, match=r"orphan\.ann: missing text file orphan\.txt"):
        read_brat_dir(folder)


@pytest.mark.parametrize("case", ["out_of_range", "text_mismatch", "malformed_line", "malformed_offsets"])
def test_lenient_skips_and_counts(fixtures, case):
    ledger = Ledger()
    (doc,) = read_brat_dir(fixtures / "brat_bad" / case, lenient=True, ledger=ledger)
    assert [e.id for e in doc.entities] == ["T1"]
    skipped = {r: n for r, n in ledger.counts.items() if r.startswith("skipped.")}
    assert sum(skipped.values()) == 1
    assert re.search(r"doc\.ann:\d+$", next(iter(ledger.examples[next(iter(skipped))])))


def test_whitespace_normalised_text_is_a_repair(tmp_path):
    (tmp_path / "d.txt").write_text("douleur\nthoracique", encoding="utf-8")
    ann = tmp_path / "d.ann"
    ann.write_text("T1\tDISO 0 18\tdouleur thoracique\n", encoding="utf-8")
    ledger = Ledger()
    (ent,) = parse_ann(ann, "douleur\nthoracique", ledger=ledger)
    assert ent.fragments == [(0, 18)]
    assert ledger.counts["repair.text_whitespace_differs"] == 1
